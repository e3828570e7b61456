/**
 * Upper bounds of what CloudFormation deploys for a value that is a token at synthesis, and IAM's quotas: IAM counts
 * the deployed document (characters without white space), so a policy is sized with these.
 */

/** The longest partition (`aws-us-gov`), region (`ap-southeast-1`) and URL suffix of any partition, and an account. */
export const PARTITION_MAX = 'aws-us-gov'.length;
export const REGION_MAX = 'ap-southeast-1'.length;
export const ACCOUNT_LENGTH = 12;
export const URL_SUFFIX_MAX = 'amazonaws.com.cn'.length;

/** Step Functions' limit on a state machine, alias or version name. */
export const STATE_MACHINE_NAME_MAX = 80;

/** `arn:<partition>:<service>:<region>:<account>:` at its longest (no region for a global service). */
function arnPrefixMax(service: string, global = false): number {
  return `arn::${service}:::`.length + PARTITION_MAX + (global ? 0 : REGION_MAX) + ACCOUNT_LENGTH;
}

/** A state machine ARN (`...:stateMachine:<name>`). */
export const STATE_MACHINE_ARN_MAX = arnPrefixMax('states') + 'stateMachine:'.length + STATE_MACHINE_NAME_MAX;
/** An IAM role ARN (512-character path, 64-character name). */
export const ROLE_ARN_MAX = arnPrefixMax('iam', true) + 'role'.length + 512 + 64;
/** A KMS key ARN (`key/<uuid>`). */
export const KEY_ARN_MAX = arnPrefixMax('kms') + 'key/'.length + 36;

/** What each pseudo parameter deploys as, at its longest. */
export const PSEUDO_PARAMETER_MAX: { [name: string]: number } = {
  'AWS::Partition': PARTITION_MAX,
  'AWS::Region': REGION_MAX,
  'AWS::AccountId': ACCOUNT_LENGTH,
  'AWS::URLSuffix': URL_SUFFIX_MAX,
  'AWS::StackName': 128,
  'AWS::StackId': arnPrefixMax('cloudformation') + 'stack/'.length + 128 + 1 + 36,
  'AWS::NoValue': 0,
};

/**
 * Upper bound of a value nothing else is known of (a parameter without `MaxLength`, an import, an attribute): the
 * longest resource ARN IAM's APIs accept (SimulatePrincipalPolicy `ResourceArns`: 2,048 characters).
 *
 * @see https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
 */
export const UNKNOWN_VALUE_MAX = 2_048;

/**
 * IAM quotas, in characters without white space (what IAM counts).
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 */
export const INLINE_POLICIES_QUOTA = 10_240;
export const MANAGED_POLICY_QUOTA = 6_144;
export const MANAGED_POLICIES_PER_ROLE = 10;
