package smoke;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.Acknowledgment;
import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;
import software.amazon.awscdk.Aws;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.Validations;
import software.amazon.awscdk.services.iam.FromRoleArnOptions;
import software.amazon.awscdk.services.iam.IRole;
import software.amazon.awscdk.services.iam.Role;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.lambda.IFunction;
import software.amazon.awscdk.services.stepfunctions.Credentials;
import software.amazon.awscdk.services.stepfunctions.DefinitionBody;
import software.amazon.awscdk.services.stepfunctions.IStateMachine;
import software.amazon.awscdk.services.stepfunctions.IntegrationPattern;
import software.amazon.awscdk.services.stepfunctions.Pass;
import software.amazon.awscdk.services.stepfunctions.StateMachine;
import software.amazon.awscdk.services.stepfunctions.TaskRole;
import dev.cdknestedworkflowrole.NestedWorkflowChecks;
import dev.cdknestedworkflowrole.NestedWorkflowChildOptions;
import dev.cdknestedworkflowrole.NestedWorkflowRole;
import dev.cdknestedworkflowrole.NestedWorkflowRuntimeChildren;
import dev.cdknestedworkflowrole.NestedWorkflowTargetRole;
import software.constructs.Construct;

/**
 * The bindings smoke app in Java (npm run test:bindings): the same stacks, construct ids and inputs as
 * test/bindings/typescript/app.ts; the synthesized IAM resources, the checks plugin's report and the bad input's
 * message must equal test/bindings/expected.json. The blocks between "// README:<name>" and "// README:end" are the
 * Java snippets of README.md (test/docs/snippets.test.ts checks that they are the same text). Run from a directory
 * holding the definition files: the jsii kernel resolves relative paths against the JVM's working directory.
 */
public final class SmokeApp {
    private static final Environment ENV = Environment.builder().account("111111111111").region("us-east-1").build();
    private static final Environment CHILD_ENV =
        Environment.builder().account("222222222222").region("us-east-1").build();

    private static String arn(final String name, final String account) {
        return "arn:aws:states:us-east-1:" + account + ":stateMachine:" + name;
    }

    private static String arn(final String name) {
        return arn(name, "111111111111");
    }

    static final class UsageStack extends Stack {
        UsageStack(final Construct scope, final String id) {
            super(scope, id, StackProps.builder().env(ENV).build());
            IStateMachine childStateMachine = StateMachine.fromStateMachineArn(this, "Child", arn("Worker"));
            IStateMachine otherChild = StateMachine.fromStateMachineArn(this, "OtherChild", arn("Callback"));
            DefinitionBody definitionBody = DefinitionBody.fromChainable(new Pass(this, "Start"));

            // README:usage
            NestedWorkflowRole parentRole = NestedWorkflowRole.Builder.create(this, "ParentRole")
                .child(childStateMachine)
                .integrationPattern(IntegrationPattern.RUN_JOB)
                .build();
            parentRole.addChild(otherChild, NestedWorkflowChildOptions.builder()
                .integrationPattern(IntegrationPattern.WAIT_FOR_TASK_TOKEN)
                .build());

            StateMachine.Builder.create(this, "Parent")
                .role(parentRole.getRole())
                .definitionBody(definitionBody)
                .build();
            // README:end

            Validations.of(parentRole).acknowledge(Acknowledgment.builder()
                .id("AwsSolutions-IAM5[Resource::arn:aws:states:us-east-1:111111111111:execution:NightlyJob:*]")
                .reason("Execution names are chosen at run time; the colon keeps other state machines out.")
                .build());
        }
    }

    static final class DefinitionStack extends Stack {
        DefinitionStack(final Construct scope, final String id) {
            super(scope, id, StackProps.builder().env(ENV).build());
            IStateMachine orderChild = StateMachine.fromStateMachineArn(this, "OrderChild", arn("OrderChild"));
            IStateMachine shippingChild = StateMachine.fromStateMachineArn(this, "ShippingChild", arn("ShippingChild"));
            IFunction notifyFunction = Function.fromFunctionArn(
                this, "Notify", "arn:aws:lambda:us-east-1:111111111111:function:Notify");

            DefinitionBody definitionBody = DefinitionBody.fromFile("parent.asl.json");
            Map<String, String> definitionSubstitutions = Map.of(
                "OrderChildArn", orderChild.getStateMachineArn(),
                "ShippingChildArn", shippingChild.getStateMachineArn(),
                "NotifyFunctionArn", notifyFunction.getFunctionArn());
            NestedWorkflowRole parentRole = NestedWorkflowRole.Builder.create(this, "ParentRole")
                .definitionBody(definitionBody)
                .definitionSubstitutions(definitionSubstitutions)
                .build();
            notifyFunction.grantInvoke(parentRole.getRole());
            StateMachine.Builder.create(this, "Parent")
                .role(parentRole.getRole())
                .definitionBody(definitionBody)
                .definitionSubstitutions(definitionSubstitutions)
                .build();

            IStateMachine childA = StateMachine.fromStateMachineArn(this, "ChildA", arn("ReportA"));
            IStateMachine childB = StateMachine.fromStateMachineArn(this, "ChildB", arn("ReportB"));
            DefinitionBody dispatcherBody = DefinitionBody.fromFile("dispatcher.asl.json");
            NestedWorkflowRole dispatcherRole = NestedWorkflowRole.Builder.create(this, "DispatcherRole")
                .definitionBody(dispatcherBody)
                .runtimeChildren(List.of(NestedWorkflowRuntimeChildren.builder()
                    .stateName("Start chosen child")
                    .children(List.of(childA, childB))
                    .build()))
                .build();
            StateMachine.Builder.create(this, "Dispatcher")
                .role(dispatcherRole.getRole())
                .definitionBody(dispatcherBody)
                .build();
        }
    }

    static void crossAccount(final App app) {
        Stack childAccountStack = new Stack(app, "ChildAccount", StackProps.builder().env(CHILD_ENV).build());
        Stack parentAccountStack = new Stack(app, "ParentAccount", StackProps.builder().env(ENV).build());
        IStateMachine child = StateMachine.fromStateMachineArn(
            childAccountStack, "Child", arn("OrderChild", "222222222222"));
        DefinitionBody definitionBody = DefinitionBody.fromFile("cross-account-parent.asl.json");

        NestedWorkflowTargetRole.Builder.create(childAccountStack, "ChildStarter")
            .child(child)
            .integrationPattern(IntegrationPattern.RUN_JOB)
            .roleName("OrderChildStarter")
            .parentRole(Role.fromRoleArn(childAccountStack, "ParentRole",
                "arn:" + Aws.PARTITION + ":iam::111111111111:role/OrderParentRole",
                FromRoleArnOptions.builder().mutable(false).build()))
            .parentStateMachine(StateMachine.fromStateMachineArn(childAccountStack, "Parent",
                "arn:" + Aws.PARTITION + ":states:us-east-1:111111111111:stateMachine:OrderParent"))
            .build();

        IRole starterRole = Role.fromRoleArn(parentAccountStack, "ChildStarter",
            "arn:" + Aws.PARTITION + ":iam::222222222222:role/OrderChildStarter",
            FromRoleArnOptions.builder().mutable(false).build());
        IStateMachine remoteChild = StateMachine.fromStateMachineArn(parentAccountStack, "RemoteChild",
            "arn:" + Aws.PARTITION + ":states:us-east-1:222222222222:stateMachine:OrderChild");
        NestedWorkflowRole parentRole = NestedWorkflowRole.Builder.create(parentAccountStack, "ParentRole")
            .roleName("OrderParentRole")
            .parentStateMachineName("OrderParent")
            .child(remoteChild)
            .integrationPattern(IntegrationPattern.RUN_JOB)
            .credentials(Credentials.builder().role(TaskRole.fromRole(starterRole)).build())
            .build();
        StateMachine.Builder.create(parentAccountStack, "Parent")
            .stateMachineName("OrderParent")
            .role(parentRole.getRole())
            .definitionBody(definitionBody)
            .definitionSubstitutions(Map.of(
                "StarterRoleArn", starterRole.getRoleArn(),
                "ChildArn", remoteChild.getStateMachineArn()))
            .build();
    }

    /**
     * The class and message of what the library throws for an activity ARN as `child`. The message of a JsiiError is
     * the JavaScript message, a newline, then the JavaScript stack ("Error: <message>\n    at ..."): the first line is
     * the library's message.
     */
    static String[] badChildMessage() {
        Stack stack = new Stack(new App(), "Bad", StackProps.builder().env(ENV).build());
        try {
            NestedWorkflowRole.Builder.create(stack, "ParentRole")
                .child(StateMachine.fromStateMachineArn(
                    stack, "Activity", "arn:aws:states:us-east-1:111111111111:activity:Worker"))
                .build();
        } catch (RuntimeException e) {
            return new String[] {e.getClass().getName(), e.getMessage().split("\n", 2)[0]};
        }
        throw new AssertionError("an activity ARN as `child` was accepted");
    }

    static JsonNode iamResources(final ObjectMapper mapper, final Path outdir, final String stackName)
        throws IOException {
        JsonNode template = mapper.readTree(outdir.resolve(stackName + ".template.json").toFile());
        ObjectNode result = mapper.createObjectNode();
        Iterator<Map.Entry<String, JsonNode>> resources = template.get("Resources").fields();
        while (resources.hasNext()) {
            Map.Entry<String, JsonNode> entry = resources.next();
            String type = entry.getValue().get("Type").asText();
            if (type.startsWith("AWS::IAM::")) {
                ObjectNode resource = result.putObject(entry.getKey());
                resource.put("Type", type);
                resource.set("Properties", entry.getValue().get("Properties"));
            }
        }
        return result;
    }

    static JsonNode reportSummary(final ObjectMapper mapper, final Path outdir) throws IOException {
        JsonNode report = mapper.readTree(outdir.resolve("validation-report.json").toFile());
        ArrayNode result = mapper.createArrayNode();
        for (JsonNode plugin : report.get("pluginReports")) {
            ObjectNode summary = result.addObject();
            summary.set("pluginName", plugin.get("pluginName"));
            summary.set("conclusion", plugin.get("conclusion"));
            ArrayNode violations = summary.putArray("violations");
            for (JsonNode violation : plugin.get("violations")) {
                ObjectNode v = violations.addObject();
                v.set("ruleName", violation.get("ruleName"));
                v.set("severity", violation.get("severity"));
                ArrayNode paths = v.putArray("constructPaths");
                for (JsonNode construct : violation.get("violatingConstructs")) {
                    paths.add(construct.get("constructPath"));
                }
            }
        }
        return result;
    }

    /** The version of the jar a class was loaded from (aws-cdk-lib-2.258.0.jar: 2.258.0). */
    static String jarVersion(final Class<?> type, final String artifactId) {
        String jar = new File(type.getProtectionDomain().getCodeSource().getLocation().getPath()).getName();
        return jar.substring(artifactId.length() + 1, jar.length() - ".jar".length());
    }

    public static void main(final String[] args) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        Path bindings = Path.of(System.getProperty("smoke.bindings", "."));
        JsonNode expected = mapper.readTree(bindings.resolve("expected.json").toFile());
        List<String> failures = new ArrayList<>();
        int[] passed = {0};
        java.util.function.BiConsumer<String, JsonNode[]> check = (name, actualAndWant) -> {
            if (actualAndWant[0].equals(actualAndWant[1])) {
                passed[0]++;
            } else {
                failures.add(name + ":\n  expected: " + actualAndWant[1] + "\n  actual:   " + actualAndWant[0]);
            }
        };

        String[] error = badChildMessage();
        check.accept("bad child message",
            new JsonNode[] {mapper.getNodeFactory().textNode(error[1]), expected.get("badChildMessage")});

        Path outdir = Files.createTempDirectory("bindings-java-");
        App app = new App(
            AppProps.builder().outdir(outdir.toString()).build());
        new UsageStack(app, "Usage");
        new DefinitionStack(app, "Definition");
        crossAccount(app);
        // README:checks
        Validations.of(app).addPlugins(new NestedWorkflowChecks());
        // README:end
        app.synth();

        Iterator<String> stacks = expected.get("iamResources").fieldNames();
        while (stacks.hasNext()) {
            String stackName = stacks.next();
            check.accept("IAM resources of " + stackName,
                new JsonNode[] {iamResources(mapper, outdir, stackName), expected.get("iamResources").get(stackName)});
        }
        check.accept("checks plugin report",
            new JsonNode[] {reportSummary(mapper, outdir), expected.get("validationReport")});

        if (!failures.isEmpty()) {
            System.err.println("java: " + failures.size() + " of " + (passed[0] + failures.size()) + " checks failed");
            System.err.println(String.join("\n", failures));
            System.exit(1);
        }
        System.out.println("java: " + passed[0] + " checks passed (aws-cdk-lib "
            + jarVersion(App.class, "aws-cdk-lib") + ", constructs "
            + jarVersion(Construct.class, "constructs") + "; the bad input threw " + error[0] + ")");
    }

    private SmokeApp() {
    }
}
