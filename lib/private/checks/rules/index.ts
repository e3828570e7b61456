import { Rule } from '../parent-check';
import { NWR1 } from './nwr1-missing';
import { NWR2 } from './nwr2-too-broad';
import { NWR3 } from './nwr3-wrong-partition';
import { NWR4 } from './nwr4-undecidable';
import { NWR5 } from './nwr5-cannot-run';

/**
 * The rules of `NestedWorkflowChecks` and of `cdk-nested-workflow-role check`, one file each (like cdk-nag's): a
 * stable id, a severity, a one-line info, the fix and the finder. Acknowledge a rule by its id.

 */
export const RULES: Rule[] = [NWR1, NWR2, NWR3, NWR4, NWR5];

/** The order the engine runs them in on each parent (the order of its findings). */
export const RUN_ORDER: Rule[] = [NWR5, NWR4, NWR3, NWR1, NWR2];

export type { CheckRule, Finding, Severity } from '../parent-check';
