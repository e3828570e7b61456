// The bindings smoke app in Go (npm run test:bindings): the same stacks, construct ids and inputs as
// test/bindings/typescript/app.ts; the synthesized IAM resources, the checks plugin's report and the bad input's
// message must equal test/bindings/expected.json. Run from a directory holding the definition files: the jsii
// kernel resolves relative paths against the process's working directory.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdk-nested-workflow-role/cdk-nested-workflow-role-go/cdknestedworkflowrole"
)

var env = &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("us-east-1")}
var childEnv = &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("us-east-1")}

func arn(name string, account string) *string {
	return jsii.String("arn:aws:states:us-east-1:" + account + ":stateMachine:" + name)
}

func usageStack(scope constructs.Construct, id string) {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{Env: env})
	childStateMachine := awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("Child"), arn("Worker", "111111111111"))
	otherChild := awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("OtherChild"), arn("Callback", "111111111111"))
	definitionBody := awsstepfunctions.DefinitionBody_FromChainable(awsstepfunctions.NewPass(stack, jsii.String("Start"), nil))

	parentRole := cdknestedworkflowrole.NewNestedWorkflowRole(stack, jsii.String("ParentRole"), &cdknestedworkflowrole.NestedWorkflowRoleProps{
		Child:              childStateMachine,
		IntegrationPattern: awsstepfunctions.IntegrationPattern_RUN_JOB,
	})
	parentRole.AddChild(otherChild, &cdknestedworkflowrole.NestedWorkflowChildOptions{
		IntegrationPattern: awsstepfunctions.IntegrationPattern_WAIT_FOR_TASK_TOKEN,
	})
	awsstepfunctions.NewStateMachine(stack, jsii.String("Parent"), &awsstepfunctions.StateMachineProps{
		Role:           parentRole.Role(),
		DefinitionBody: definitionBody,
	})

	awscdk.Validations_Of(parentRole).Acknowledge(&awscdk.Acknowledgment{
		Id:     jsii.String("AwsSolutions-IAM5[Resource::arn:aws:states:us-east-1:111111111111:execution:NightlyJob:*]"),
		Reason: jsii.String("Execution names are chosen at run time; the colon keeps other state machines out."),
	})
}

func definitionStack(scope constructs.Construct, id string) {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{Env: env})
	orderChild := awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("OrderChild"), arn("OrderChild", "111111111111"))
	shippingChild := awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("ShippingChild"), arn("ShippingChild", "111111111111"))
	notifyFunction := awslambda.Function_FromFunctionArn(stack, jsii.String("Notify"), jsii.String("arn:aws:lambda:us-east-1:111111111111:function:Notify"))

	definitionBody := awsstepfunctions.DefinitionBody_FromFile(jsii.String("parent.asl.json"), nil)
	definitionSubstitutions := &map[string]*string{
		"OrderChildArn":     orderChild.StateMachineArn(),
		"ShippingChildArn":  shippingChild.StateMachineArn(),
		"NotifyFunctionArn": notifyFunction.FunctionArn(),
	}
	parentRole := cdknestedworkflowrole.NewNestedWorkflowRole(stack, jsii.String("ParentRole"), &cdknestedworkflowrole.NestedWorkflowRoleProps{
		DefinitionBody:          definitionBody,
		DefinitionSubstitutions: definitionSubstitutions,
	})
	notifyFunction.GrantInvoke(parentRole.Role())
	awsstepfunctions.NewStateMachine(stack, jsii.String("Parent"), &awsstepfunctions.StateMachineProps{
		Role:                    parentRole.Role(),
		DefinitionBody:          definitionBody,
		DefinitionSubstitutions: definitionSubstitutions,
	})

	childA := awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("ChildA"), arn("ReportA", "111111111111"))
	childB := awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("ChildB"), arn("ReportB", "111111111111"))
	dispatcherBody := awsstepfunctions.DefinitionBody_FromFile(jsii.String("dispatcher.asl.json"), nil)
	dispatcherRole := cdknestedworkflowrole.NewNestedWorkflowRole(stack, jsii.String("DispatcherRole"), &cdknestedworkflowrole.NestedWorkflowRoleProps{
		DefinitionBody: dispatcherBody,
		RuntimeChildren: &[]*cdknestedworkflowrole.NestedWorkflowRuntimeChildren{
			{StateName: jsii.String("Start chosen child"), Children: &[]awsstepfunctions.IStateMachine{childA, childB}},
		},
	})
	awsstepfunctions.NewStateMachine(stack, jsii.String("Dispatcher"), &awsstepfunctions.StateMachineProps{
		Role:           dispatcherRole.Role(),
		DefinitionBody: dispatcherBody,
	})
}

func crossAccount(app awscdk.App) {
	childAccountStack := awscdk.NewStack(app, jsii.String("ChildAccount"), &awscdk.StackProps{Env: childEnv})
	parentAccountStack := awscdk.NewStack(app, jsii.String("ParentAccount"), &awscdk.StackProps{Env: env})
	child := awsstepfunctions.StateMachine_FromStateMachineArn(childAccountStack, jsii.String("Child"), arn("OrderChild", "222222222222"))
	definitionBody := awsstepfunctions.DefinitionBody_FromFile(jsii.String("cross-account-parent.asl.json"), nil)
	partition := *awscdk.Aws_PARTITION()

	cdknestedworkflowrole.NewNestedWorkflowTargetRole(childAccountStack, jsii.String("ChildStarter"), &cdknestedworkflowrole.NestedWorkflowTargetRoleProps{
		Child:              child,
		IntegrationPattern: awsstepfunctions.IntegrationPattern_RUN_JOB,
		RoleName:           jsii.String("OrderChildStarter"),
		ParentRole: awsiam.Role_FromRoleArn(childAccountStack, jsii.String("ParentRole"),
			jsii.String("arn:"+partition+":iam::111111111111:role/OrderParentRole"), &awsiam.FromRoleArnOptions{Mutable: jsii.Bool(false)}),
		ParentStateMachine: awsstepfunctions.StateMachine_FromStateMachineArn(childAccountStack, jsii.String("Parent"),
			jsii.String("arn:"+partition+":states:us-east-1:111111111111:stateMachine:OrderParent")),
	})

	starterRole := awsiam.Role_FromRoleArn(parentAccountStack, jsii.String("ChildStarter"),
		jsii.String("arn:"+partition+":iam::222222222222:role/OrderChildStarter"), &awsiam.FromRoleArnOptions{Mutable: jsii.Bool(false)})
	remoteChild := awsstepfunctions.StateMachine_FromStateMachineArn(parentAccountStack, jsii.String("RemoteChild"),
		jsii.String("arn:"+partition+":states:us-east-1:222222222222:stateMachine:OrderChild"))
	parentRole := cdknestedworkflowrole.NewNestedWorkflowRole(parentAccountStack, jsii.String("ParentRole"), &cdknestedworkflowrole.NestedWorkflowRoleProps{
		RoleName:               jsii.String("OrderParentRole"),
		ParentStateMachineName: jsii.String("OrderParent"),
		Child:                  remoteChild,
		IntegrationPattern:     awsstepfunctions.IntegrationPattern_RUN_JOB,
		Credentials:            &awsstepfunctions.Credentials{Role: awsstepfunctions.TaskRole_FromRole(starterRole)},
	})
	awsstepfunctions.NewStateMachine(parentAccountStack, jsii.String("Parent"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String("OrderParent"),
		Role:             parentRole.Role(),
		DefinitionBody:   definitionBody,
		DefinitionSubstitutions: &map[string]*string{
			"StarterRoleArn": starterRole.RoleArn(),
			"ChildArn":       remoteChild.StateMachineArn(),
		},
	})
}

// badChildMessage returns what the library's error for an activity ARN as `child` becomes in Go: jsii panics with
// an error value, recovered here.
func badChildMessage() (kind string, message string) {
	defer func() {
		if r := recover(); r != nil {
			kind = fmt.Sprintf("%T", r)
			if err, ok := r.(error); ok {
				message = err.Error()
			} else {
				message = fmt.Sprint(r)
			}
		}
	}()
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Bad"), &awscdk.StackProps{Env: env})
	cdknestedworkflowrole.NewNestedWorkflowRole(stack, jsii.String("ParentRole"), &cdknestedworkflowrole.NestedWorkflowRoleProps{
		Child: awsstepfunctions.StateMachine_FromStateMachineArn(stack, jsii.String("Activity"),
			jsii.String("arn:aws:states:us-east-1:111111111111:activity:Worker")),
	})
	return "", "an activity ARN as `child` was accepted"
}

func readJSON(path string) map[string]interface{} {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var value map[string]interface{}
	if err := json.Unmarshal(data, &value); err != nil {
		panic(err)
	}
	return value
}

func iamResources(outdir string, stackName string) interface{} {
	template := readJSON(filepath.Join(outdir, stackName+".template.json"))
	result := map[string]interface{}{}
	for id, r := range template["Resources"].(map[string]interface{}) {
		resource := r.(map[string]interface{})
		if strings.HasPrefix(resource["Type"].(string), "AWS::IAM::") {
			result[id] = map[string]interface{}{"Type": resource["Type"], "Properties": resource["Properties"]}
		}
	}
	return result
}

func reportSummary(outdir string) interface{} {
	report := readJSON(filepath.Join(outdir, "validation-report.json"))
	result := []interface{}{}
	for _, p := range report["pluginReports"].([]interface{}) {
		plugin := p.(map[string]interface{})
		violations := []interface{}{}
		for _, v := range plugin["violations"].([]interface{}) {
			violation := v.(map[string]interface{})
			paths := []interface{}{}
			for _, c := range violation["violatingConstructs"].([]interface{}) {
				paths = append(paths, c.(map[string]interface{})["constructPath"])
			}
			violations = append(violations, map[string]interface{}{
				"ruleName": violation["ruleName"], "severity": violation["severity"], "constructPaths": paths,
			})
		}
		result = append(result, map[string]interface{}{
			"pluginName": plugin["pluginName"], "conclusion": plugin["conclusion"], "violations": violations,
		})
	}
	return result
}

// moduleVersion is the version of a module the binary was built with (go.mod, after minimal version selection).
func moduleVersion(path string) string {
	info, _ := debug.ReadBuildInfo()
	for _, dep := range info.Deps {
		if dep.Path == path {
			return strings.TrimPrefix(dep.Version, "v")
		}
	}
	return "unknown"
}

func main() {
	expected := readJSON(filepath.Join(os.Getenv("SMOKE_BINDINGS"), "expected.json"))
	failures := []string{}
	passed := 0
	check := func(name string, actual interface{}, want interface{}) {
		// Compare as JSON values: both sides decoded by encoding/json.
		data, _ := json.Marshal(actual)
		var normalized interface{}
		_ = json.Unmarshal(data, &normalized)
		if reflect.DeepEqual(normalized, want) {
			passed++
		} else {
			wantJSON, _ := json.Marshal(want)
			failures = append(failures, fmt.Sprintf("%s:\n  expected: %s\n  actual:   %s", name, wantJSON, data))
		}
	}

	kind, message := badChildMessage()
	check("bad child message", message, expected["badChildMessage"])

	outdir, err := os.MkdirTemp("", "bindings-go-")
	if err != nil {
		panic(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	usageStack(app, "Usage")
	definitionStack(app, "Definition")
	crossAccount(app)
	awscdk.Validations_Of(app).AddPlugins(cdknestedworkflowrole.NewNestedWorkflowChecks())
	app.Synth(nil)

	stacks := expected["iamResources"].(map[string]interface{})
	for _, stackName := range []string{"Usage", "Definition", "ParentAccount", "ChildAccount"} {
		check("IAM resources of "+stackName, iamResources(outdir, stackName), stacks[stackName])
	}
	if len(stacks) != 4 {
		failures = append(failures, fmt.Sprintf("expected.json names %d stacks, this app checks 4", len(stacks)))
	}
	check("checks plugin report", reportSummary(outdir), expected["validationReport"])

	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "go: %d of %d checks failed\n%s\n", len(failures), passed+len(failures), strings.Join(failures, "\n"))
		os.Exit(1)
	}
	fmt.Printf("go: %d checks passed (aws-cdk-lib %s, constructs %s; the bad input panicked with %s)\n", passed,
		moduleVersion("github.com/aws/aws-cdk-go/awscdk/v2"), moduleVersion("github.com/aws/constructs-go/constructs/v10"), kind)
}
