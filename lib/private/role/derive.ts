import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { readingOf } from './usage';
import { deployedDefinition } from '../read/deployed-definition';
import { RoleUser } from '../read/role-users';

/** Grants a definition read from a state machine that uses the role (the derive path's entry into the role). */
export type DeriveDefinition = (
  body: sfn.DefinitionBody,
  substitutions: { [key: string]: string },
  where: string,
  rendered: boolean,
) => void;

/**
 * Phase 1 of a role given no child and no definition: it grants what the definitions of the state machines that use
 * it start, read before the grants are packed (so that they are packed, and their Map Runs granted, like those of a
 * definition given to the role).
 *
 * @returns the state machines whose definition was read (granted by construction: the usage checks skip them)
 */
export function deriveFromUsers(
  owner: Construct,
  users: RoleUser[],
  derive: DeriveDefinition,
): Set<sfn.CfnStateMachine> {
  const derived = new Set<sfn.CfnStateMachine>();
  for (const user of users) {
    const deployed = deployedDefinition(user);
    if (!deployed.body) continue;
    derive(deployed.body, deployed.substitutions, readingOf(owner, user), deployed.rendered);
    derived.add(user.resource);
  }
  return derived;
}
