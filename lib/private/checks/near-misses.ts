import { Call } from './evaluator';
import { EXAMPLE_MAP_RUN, RequiredCall } from './required-calls';
import {
  DESCRIBE_EXECUTION,
  MANAGED_RULE_NAME,
  REDRIVE_EXECUTION,
  START_EXECUTION,
  START_SYNC_EXECUTION,
} from '../model/actions';

/**
 * The near misses of the calls a parent makes: what a statement that allows a call must not also allow (NWR2).
 */

/** The express id of an Express execution, `express:<name>:<execution>:<express id>`. */
const EXAMPLE_EXPRESS_ID = 'example-express-id';

const OTHER_ACCOUNTS = ['999999999999', '888888888888'];
const OTHER_REGIONS = ['ap-south-2', 'ap-south-1'];

/** A state machine that is neither the parent nor one of its children. */
const OTHER_STATE_MACHINE = 'OtherStateMachine';

/**
 * Calls the parent never makes, close to one it makes: a name that merely starts with the child's (`<name>Admin`),
 * one character longer (`<name>2`) or ending with it (`Other<name>`), the other start action, a redrive of the child's
 * executions, the Express executions of a `.sync` child, another account and region, another rule, another action on
 * the same resource; for its Map Runs, another state
 * machine, the executions of `<parent>Admin`, another Map Run label, a redrive of the parent's own executions.
 */
export function nearMisses(call: RequiredCall): RequiredCall[] {
  const parts = call.resource.split(':');
  const other = (index: number, values: string[]) => {
    const copy = [...parts];
    copy[index] = values.find((v) => v !== parts[index])!;
    return copy.join(':');
  };
  const misses: RequiredCall[] = [];
  const add = (action: string, resource: string, context: Call['context'] | null = call.context) =>
    misses.push({ ...call, action, resource, context: context ?? undefined });
  // Other names: a longer one (`<name>*`), one more character (`<name>?`), a shorter prefix (`*<name>`).
  const renamed = (name: string) => [...parts.slice(0, 6), name, ...parts.slice(7)].join(':');
  const otherNames = (name: string) => [`${name}Admin`, `${name}2`, `Other${name}`];
  switch (call.kind) {
    case 'start':
      for (const name of otherNames(parts[6])) add(call.action, renamed(name));
      add('states:DeleteStateMachine', call.resource, null);
      // `states:Start*`: the other way to start it.
      add(call.action === START_EXECUTION ? START_SYNC_EXECUTION : START_EXECUTION, call.resource);
      break;
    case 'executions':
      for (const name of otherNames(parts[6])) add(call.action, renamed(name));
      // `states:*` on the child's executions.
      if (parts[5] === 'execution') add(REDRIVE_EXECUTION, call.resource);
      // Step Functions never describes a `.sync` child's Express executions (`express:<name>:*`), even for an Express
      // child: DescribeExecution does not support them outside a Map Run.
      if (call.action === DESCRIBE_EXECUTION) {
        add(call.action, [...parts.slice(0, 5), 'express', ...parts.slice(6), EXAMPLE_EXPRESS_ID].join(':'));
      }
      break;
    case 'events':
      add(call.action, call.resource.replace(`rule/${MANAGED_RULE_NAME}`, 'rule/SomeOtherRule'));
      add('events:DeleteRule', call.resource);
      break;
    case 'assumeRole':
      add(call.action, `${call.resource}Admin`);
      // `arn:<partition>:iam::*:role/<name>`: the role of that name in another account (IAM ARNs have no region).
      add(call.action, other(4, OTHER_ACCOUNTS));
      return misses;
    case 'mapRun': {
      // stateMachine:<parent>, execution:<parent>:<id> or execution:<parent>/<label>:<id>
      const [name, label] = parts[6].split('/');
      const named = (n: string, l: string | undefined) => renamed(l === undefined ? n : `${n}/${l}`);
      add(call.action, named(`${name}Admin`, label));
      add(call.action, named(OTHER_STATE_MACHINE, label));
      if (parts[5] === 'stateMachine') add('states:DeleteStateMachine', call.resource, null);
      if (label !== undefined) {
        // Another label of this parent when the Map Runs are labelled (an unlabelled Map Run may have any label).
        if (label !== EXAMPLE_MAP_RUN) add(call.action, named(name, `${label}Other`));
        add(call.action, named(name, undefined));
      }
      break;
    }
  }
  add(call.action, other(4, OTHER_ACCOUNTS));
  add(call.action, other(3, OTHER_REGIONS));
  return misses;
}
