import { CfnResource, Reference, Token, Tokenization } from 'aws-cdk-lib';
import { EXPECTED, STATE_MACHINE_ARN_FIX } from './state-machine-arn';

/** Resources whose `Ref` and `Fn::GetAtt Arn` are the ARN of something Step Functions can start. */
const STATE_MACHINE_TYPES = [
  'AWS::StepFunctions::StateMachine',
  'AWS::StepFunctions::StateMachineAlias',
  'AWS::StepFunctions::StateMachineVersion',
];
const ARN_ATTRIBUTES = ['Ref', 'Arn'];

/**
 * Resources whose attributes may hold any string, a state machine ARN among them: the outputs of a nested stack or
 * of a custom resource, the value of an SSM parameter.
 */
function carriesAnyValue(type: string): boolean {
  return type.startsWith('Custom::') || type.startsWith('AWS::CloudFormation::') || type === 'AWS::SSM::Parameter';
}

/**
 * Refuses a child ARN that starts with a reference to something that is not a state machine ARN: another kind of
 * resource (`fn.functionArn`), or another attribute of a state machine (`stateMachineName`). Such a value would be
 * split as if it were a state machine ARN and grant nothing useful; a literal ARN of the same resource is refused by
 * the ARN parser, and this refuses the token with the same message.
 *
 * References whose target cannot be known (parameters, imports, custom resources) are left to the ARN parser.
 *
 * @param what how the caller names the value in error messages, e.g. "`child`"
 */
export function checkChildReference(arn: string, what: string): void {
  if (!Token.isUnresolved(arn)) return;
  // The ARN starts with the reference: `${ref}` or `${ref}:PROD` (and not `arn:...:${name}`).
  const first = Tokenization.reverseString(arn).firstToken;
  if (!Reference.isReference(first)) return;
  const target = first.target;
  if (!CfnResource.isCfnResource(target)) return;
  const type = target.cfnResourceType;
  if (carriesAnyValue(type)) return;
  const attribute = first.displayName;
  if (STATE_MACHINE_TYPES.includes(type) && ARN_ATTRIBUTES.includes(attribute)) return;
  const got = attribute === 'Ref' ? `the Ref of ${target.node.path}` : `the ${attribute} of ${target.node.path}`;
  throw new Error(
    `${what} must be a state machine ARN (${EXPECTED}), ` +
      `got: ${got} (${type}) (check: a reference to the ARN of an AWS::StepFunctions::StateMachine, StateMachineAlias or StateMachineVersion). ` +
      STATE_MACHINE_ARN_FIX,
  );
}
