import { ParentCheck, Rule, RuleFinding } from '../parent-check';

/** NWR3: `arn:aws:` literals in a stack whose partition is not known to be `aws`. */
export const NWR3: Rule = {
  name: 'wrongPartition',
  id: 'NWR3',
  severity: 'warning',
  info: 'An `arn:aws:` literal in a stack whose partition is not known to be aws: the ARN is wrong in aws-cn, aws-us-gov and other partitions.',
  fix: "Build the ARN from the stack's partition (${AWS::Partition}, Aws.PARTITION, Stack.of(this).formatArn), or give the stack an env in the aws partition.",
  find({ parent }: ParentCheck): RuleFinding[] {
    if (parent.wrongPartition.length === 0) return [];
    return [
      {
        message: `The partition of this stack is not known to be aws, but ${parent.wrongPartition.join('; ')} hard-code arn:aws:.`,
      },
    ];
  },
};
