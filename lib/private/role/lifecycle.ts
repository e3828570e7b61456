import { AspectPriority, Aspects, IAspect } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';

/**
 * The lifecycle of the roles this library builds: the one file that registers aspects and validations.
 *
 * The constructors validate their props and create the role; everything that needs the whole app (the state
 * machines that use the role, aws-cdk-lib's own changes to the role) runs at synthesis, in this order:
 *
 * | phase | runs as | priority | on | what it does |
 * |---|---|---|---|---|
 * | 1 derive | aspect | MUTATING (200) | NestedWorkflowRole | warns `roleNotUsed` when no state machine uses the role; a role given nothing reads the definitions of the state machines that use it (`role/derive.ts`); attaches or leaves out aws-cdk-lib's `DistributedMapPolicy` |
 * | 2 Map Runs | aspect | DEFAULT (500) | NestedWorkflowRole | creates `NestedWorkflowMapRunPolicy` on the parent's own ARN (after 1: a derived definition's maps count) |
 * | 3 advisories | aspect | DEFAULT, after 2 | NestedWorkflowRole | warns `tasksNotGranted`, `foreignStatesGrants` |
 * | (aws-cdk-lib) | aspect | MUTATING or DEFAULT | the inner role | moves what exceeds the DefaultPolicy's size into `OverflowPolicyN` managed policies |
 * | 4 pack | aspect | READONLY - 100 (900) | the inner role | packs the grants into `NestedWorkflowPolicy` and `NestedWorkflowManagedPolicyN` within what the role's other policies leave of IAM's quotas (after 1-3 and aws-cdk-lib's split: those policies are final); before read-only aspects (cdk-nag) see the role |
 * | 5 validate | `node.addValidation` | after every aspect | each construct | a role with no child (and no Distributed Map); the quotas again (a later aspect may have added policies); usage mismatches; `runtimeChildren` that name no run-time state; the Map Run parent; an Express parent with waiting tasks |
 *
 * Each construct registers once, at construction; each phase runs once per synthesis.
 */

/** Phase 4 of a role's grants, and their part of phase 5. */
export interface PackingPhases {
  pack(): void;
  validate(): string[];
}

/** The phases of a NestedWorkflowRole. */
export interface ParentPhases {
  /** Phase 1. */
  derive(): void;
  /** Phase 2. */
  grantMapRuns(): void;
  /** Phase 3. */
  warn(): void;
  /** Phase 5 (with the packing's own checks). */
  validate(): string[];
}

/** After every mutating and default aspect (aws-cdk-lib splits the role's DefaultPolicy at MUTATING or DEFAULT). */
const PACK_PRIORITY = AspectPriority.READONLY - 100;

/** Registers a NestedWorkflowRole: phases 1-3 and 5 on the construct, phase 4 on its inner role. */
export function registerParentRole(
  owner: Construct,
  role: iam.Role,
  phases: ParentPhases,
  packing: PackingPhases,
): void {
  Aspects.of(owner).add(
    onNode(owner, () => phases.derive()),
    { priority: AspectPriority.MUTATING },
  );
  Aspects.of(owner).add(
    onNode(owner, () => phases.grantMapRuns()),
    { priority: AspectPriority.DEFAULT },
  );
  Aspects.of(owner).add(
    onNode(owner, () => phases.warn()),
    { priority: AspectPriority.DEFAULT },
  );
  registerPacking(role, packing);
  owner.node.addValidation({ validate: () => phases.validate() });
}

/** Registers a NestedWorkflowTargetRole: phase 4 on its inner role, phase 5 on the construct. */
export function registerTargetRole(owner: Construct, role: iam.Role, packing: PackingPhases): void {
  registerPacking(role, packing);
  owner.node.addValidation({ validate: () => packing.validate() });
}

function registerPacking(role: iam.Role, packing: PackingPhases): void {
  Aspects.of(role).add(
    onNode(role, () => packing.pack()),
    { priority: PACK_PRIORITY },
  );
}

/** An aspect that runs `action` when it visits `target` itself (aspects also visit every construct below it). */
function onNode(target: IConstruct, action: () => void): IAspect {
  return {
    visit(node: IConstruct) {
      if (node === target) action();
    },
  };
}
