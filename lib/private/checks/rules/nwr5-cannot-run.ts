import { ParentCheck, Rule, RuleFinding } from '../parent-check';

/** NWR5: a definition the construct itself refuses (the model's execution rules: waiting tasks in Express executions, Map Run labels). */
export const NWR5: Rule = {
  name: 'cannotRun',
  id: 'NWR5',
  severity: 'error',
  info: 'The definition cannot run as it is: a task waits for a job or a callback (.sync, .waitForTaskToken) in an Express parent or in the Express child workflow executions of a Distributed Map, or a Map Run label is one Step Functions refuses.',
  fix: 'Use the request-response integration (or aws-sdk:sfn:startSyncExecution for an Express child), make the parent or the Distributed Map (ExecutionType) STANDARD, or rename the Map Run label, as the message says.',
  find({ parent }: ParentCheck): RuleFinding[] {
    return parent.cannotRun.map((reason) => ({ message: `The definition cannot run: ${reason}` }));
  },
};
