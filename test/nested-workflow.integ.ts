/**
 * Integration test of the example app (examples/app.ts): a parent that starts one child per integration pattern, an
 * Express child with `.sync:2` and a Distributed Map's Map Run, with a NestedWorkflowRole.
 *
 * Offline, the build synthesizes this app and compares it with the committed snapshot
 * (test/nested-workflow.integ.snapshot, task integ:nested-workflow:assert); after a deliberate change, refresh it
 * with `npx projen integ:nested-workflow:snapshot`. Deployed to an AWS account (see CONTRIBUTING.md), the
 * assertion stack starts the parent and waits until its execution SUCCEEDED: each child ran with exactly the
 * grants NestedWorkflowRole gave the parent.
 */
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { buildExampleApp } from '../examples/app';

const { app, stack, parent } = buildExampleApp();

const integ = new IntegTest(app, 'NestedWorkflowInteg', {
  testCases: [stack],
  diffAssets: false,
  stackUpdateWorkflow: false,
});

const execution = integ.assertions.awsApiCall('SFN', 'startExecution', {
  stateMachineArn: parent.stateMachineArn,
  input: JSON.stringify({ startedBy: 'nested-workflow.integ' }),
});

// The tasks run in sequence (.sync, Express .sync:2, request-response, callback, a Distributed Map of two items);
// each child finishes in seconds.
integ.assertions
  .awsApiCall('SFN', 'describeExecution', { executionArn: execution.getAttString('executionArn') })
  .expect(ExpectedResult.objectLike({ status: 'SUCCEEDED' }))
  .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(15) });

// integ-tests-alpha salts each assertion resource with Date.now(), so that it runs again on every stack update. The
// deploy task creates the stacks and destroys them afterwards, so a fixed salt loses nothing and keeps the snapshot
// reproducible.
for (const construct of Stack.of(execution).node.findAll()) {
  if (CfnResource.isCfnResource(construct) && construct.cfnResourceType.startsWith('Custom::DeployAssert')) {
    construct.addPropertyOverride('salt', 'nested-workflow-integ');
  }
}

app.synth();
