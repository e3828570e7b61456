"""The bindings smoke app in Python (npm run test:bindings).

The same stacks, construct ids and inputs as test/bindings/typescript/app.ts; the synthesized IAM resources, the
checks plugin's report and the bad input's message must equal test/bindings/expected.json. The blocks between
"# README:<name>" and "# README:end" are the Python snippets of README.md and docs/ (test/docs/snippets.test.ts
checks that they are the same text).

Run it from a directory holding the definition files (test/bindings/run.sh makes one): the jsii kernel, a Node.js
process started when aws_cdk is imported, resolves relative paths such as DefinitionBody.from_file's against the
directory Python was started in, and os.chdir after the import does not move it.
"""

import json
import os
import sys
import tempfile
from importlib.metadata import version

from aws_cdk import Acknowledgment, App, Aws, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_nested_workflow_role import (
    NestedWorkflowChecks,
    NestedWorkflowRole,
    NestedWorkflowRuntimeChildren,
    NestedWorkflowTargetRole,
)

BINDINGS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = Environment(account="111111111111", region="us-east-1")
CHILD_ENV = Environment(account="222222222222", region="us-east-1")


def arn(name, account="111111111111"):
    return f"arn:aws:states:us-east-1:{account}:stateMachine:{name}"


class UsageStack(Stack):
    def __init__(self, scope: Construct, id: str):
        super().__init__(scope, id, env=ENV)
        child_state_machine = sfn.StateMachine.from_state_machine_arn(self, "Child", arn("Worker"))
        other_child = sfn.StateMachine.from_state_machine_arn(self, "OtherChild", arn("Callback"))
        definition_body = sfn.DefinitionBody.from_chainable(sfn.Pass(self, "Start"))

        # README:usage
        parent_role = NestedWorkflowRole(self, "ParentRole",
            child=child_state_machine,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        )
        parent_role.add_child(other_child, integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN)

        sfn.StateMachine(self, "Parent", role=parent_role.role, definition_body=definition_body)
        # README:end

        # docs/rules.md: a struct given to a variadic parameter is not turned into keyword arguments.
        # README:acknowledge
        Validations.of(parent_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:aws:states:us-east-1:111111111111:execution:NightlyJob:*]",
                reason="Execution names are chosen at run time; the colon keeps other state machines out.",
            ),
        )
        # README:end


class DefinitionStack(Stack):
    def __init__(self, scope: Construct, id: str):
        super().__init__(scope, id, env=ENV)
        order_child = sfn.StateMachine.from_state_machine_arn(self, "OrderChild", arn("OrderChild"))
        shipping_child = sfn.StateMachine.from_state_machine_arn(self, "ShippingChild", arn("ShippingChild"))
        notify_function = lambda_.Function.from_function_arn(
            self, "Notify", "arn:aws:lambda:us-east-1:111111111111:function:Notify"
        )

        # README:definition-file
        definition_body = sfn.DefinitionBody.from_file("parent.asl.json")
        definition_substitutions = {
            "OrderChildArn": order_child.state_machine_arn,
            "ShippingChildArn": shipping_child.state_machine_arn,
            "NotifyFunctionArn": notify_function.function_arn,
        }
        parent_role = NestedWorkflowRole(self, "ParentRole",
            definition_body=definition_body,
            definition_substitutions=definition_substitutions,
        )
        notify_function.grant_invoke(parent_role.role)
        sfn.StateMachine(self, "Parent", role=parent_role.role,
            definition_body=definition_body, definition_substitutions=definition_substitutions)
        # README:end

        child_a = sfn.StateMachine.from_state_machine_arn(self, "ChildA", arn("ReportA"))
        child_b = sfn.StateMachine.from_state_machine_arn(self, "ChildB", arn("ReportB"))

        dispatcher_body = sfn.DefinitionBody.from_file("dispatcher.asl.json")
        dispatcher_role = NestedWorkflowRole(self, "DispatcherRole",
            definition_body=dispatcher_body,
            runtime_children=[
                NestedWorkflowRuntimeChildren(state_name="Start chosen child", children=[child_a, child_b]),
            ],
        )
        sfn.StateMachine(self, "Dispatcher", role=dispatcher_role.role, definition_body=dispatcher_body)
        # README:end


def cross_account(app: App):
    child_account_stack = Stack(app, "ChildAccount", env=CHILD_ENV)
    parent_account_stack = Stack(app, "ParentAccount", env=ENV)
    child = sfn.StateMachine.from_state_machine_arn(child_account_stack, "Child", arn("OrderChild", "222222222222"))
    definition_body = sfn.DefinitionBody.from_file("cross-account-parent.asl.json")

    # README:cross-account
    # In the child's account
    NestedWorkflowTargetRole(child_account_stack, "ChildStarter",
        child=child,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        role_name="OrderChildStarter",  # named by the parent's credentials
        parent_role=iam.Role.from_role_arn(child_account_stack, "ParentRole",
            f"arn:{Aws.PARTITION}:iam::111111111111:role/OrderParentRole", mutable=False),
        parent_state_machine=sfn.StateMachine.from_state_machine_arn(child_account_stack, "Parent",
            f"arn:{Aws.PARTITION}:states:us-east-1:111111111111:stateMachine:OrderParent"),
    )

    # In the parent's account
    starter_role = iam.Role.from_role_arn(parent_account_stack, "ChildStarter",
        f"arn:{Aws.PARTITION}:iam::222222222222:role/OrderChildStarter", mutable=False)
    remote_child = sfn.StateMachine.from_state_machine_arn(parent_account_stack, "RemoteChild",
        f"arn:{Aws.PARTITION}:states:us-east-1:222222222222:stateMachine:OrderChild")
    parent_role = NestedWorkflowRole(parent_account_stack, "ParentRole",
        role_name="OrderParentRole",  # trusted by the target role
        parent_state_machine_name="OrderParent",  # the parent role trusts only this state machine
        child=remote_child,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        credentials=sfn.Credentials(role=sfn.TaskRole.from_role(starter_role)),
    )
    sfn.StateMachine(parent_account_stack, "Parent",
        state_machine_name="OrderParent",  # its ARN is the sts:ExternalId the target role requires
        role=parent_role.role,
        definition_body=definition_body,  # its task: "Credentials": { "RoleArn": "${StarterRoleArn}" }
        definition_substitutions={
            "StarterRoleArn": starter_role.role_arn,
            "ChildArn": remote_child.state_machine_arn,
        },
    )
    # README:end


def bad_child_message():
    stack = Stack(App(), "Bad", env=ENV)
    try:
        NestedWorkflowRole(stack, "ParentRole",
            child=sfn.StateMachine.from_state_machine_arn(
                stack, "Activity", "arn:aws:states:us-east-1:111111111111:activity:Worker"),
        )
    except Exception as e:  # jsii raises the JavaScript Error as a RuntimeError
        return type(e).__name__, str(e)
    raise AssertionError("an activity ARN as `child` was accepted")


def iam_resources(outdir, stack_name):
    with open(os.path.join(outdir, f"{stack_name}.template.json")) as f:
        template = json.load(f)
    return {
        logical_id: {"Type": r["Type"], "Properties": r["Properties"]}
        for logical_id, r in template["Resources"].items()
        if r["Type"].startswith("AWS::IAM::")
    }


def report_summary(outdir):
    with open(os.path.join(outdir, "validation-report.json")) as f:
        report = json.load(f)
    return [
        {
            "pluginName": p["pluginName"],
            "conclusion": p["conclusion"],
            "violations": [
                {
                    "ruleName": v["ruleName"],
                    "severity": v["severity"],
                    "constructPaths": [c["constructPath"] for c in v["violatingConstructs"]],
                }
                for v in p["violations"]
            ],
        }
        for p in report["pluginReports"]
    ]


def main():
    with open(os.path.join(BINDINGS, "expected.json")) as f:
        expected = json.load(f)
    failures = []
    passed = 0

    def check(name, actual, want):
        nonlocal passed
        if actual == want:
            passed += 1
        else:
            failures.append(f"{name}:\n  expected: {json.dumps(want)}\n  actual:   {json.dumps(actual)}")

    error_type, message = bad_child_message()
    check("bad child message", message, expected["badChildMessage"])

    outdir = tempfile.mkdtemp(prefix="bindings-python-")
    app = App(outdir=outdir)
    UsageStack(app, "Usage")
    DefinitionStack(app, "Definition")
    cross_account(app)
    # README:checks
    Validations.of(app).add_plugins(NestedWorkflowChecks())
    # README:end
    app.synth()

    for stack_name, want in expected["iamResources"].items():
        check(f"IAM resources of {stack_name}", iam_resources(outdir, stack_name), want)
    check("checks plugin report", report_summary(outdir), expected["validationReport"])

    if failures:
        print("python: " + f"{len(failures)} of {passed + len(failures)} checks failed", file=sys.stderr)
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"python: {passed} checks passed (aws-cdk-lib {version('aws-cdk-lib')}, constructs {version('constructs')}; "
          f"the bad input raised {error_type})")


if __name__ == "__main__":
    main()
