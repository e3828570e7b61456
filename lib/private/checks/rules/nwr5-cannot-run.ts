import { ParentCheck, Rule, RuleFinding } from '../parent-check';

/**
 * NWR5: a definition the construct itself refuses (the model's execution rules: waiting tasks in Express executions,
 * Map Run labels; a child in another region, or in another account without Credentials, when the template's region and
 * account are known; a parent name that sts:ExternalId refuses for a cross-account `.sync` child).
 */
export const NWR5: Rule = {
  name: 'cannotRun',
  id: 'NWR5',
  severity: 'error',
  info: 'The definition cannot run as it is: a task waits for a job or a callback (.sync, .waitForTaskToken) in an Express parent or in the Express child workflow executions of a Distributed Map, a Map Run label is one Step Functions refuses, a child is in another region (or in another account without Credentials), or the name of a parent that starts a child with .sync through Credentials holds a character sts:ExternalId refuses.',
  fix: "Use the request-response integration (or aws-sdk:sfn:startSyncExecution for an Express child), make the parent or the Distributed Map (ExecutionType) STANDARD, rename the Map Run label, deploy the child in the parent's region (or give the task Credentials), or rename the parent, as the message says.",
  find({ parent }: ParentCheck): RuleFinding[] {
    return parent.cannotRun.map((reason) => ({ message: `The definition cannot run: ${reason}` }));
  },
};
