import { Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { renderResolved } from '../model/render';

/**
 * A value for messages: literal text as it is, tokens as what CloudFormation will see, in `Fn::Sub` notation
 * (`${Logical}`, `${Logical.Attr}`, `${AWS::Partition}`); other intrinsics as JSON.
 */
export function describeValue(scope: IConstruct, value: unknown): string {
  if (typeof value === 'string' && !Token.isUnresolved(value)) return value;
  return renderResolved(Stack.of(scope).resolve(value));
}
