import { STATE_MACHINE_NAME_MAX } from './bounds';
import { escapeRegExp } from './render';

/**
 * What a state machine, alias or version name may hold, in words: Step Functions' naming rules (1-80 characters; no
 * white space, brackets, wildcards, the special characters below or control characters) and what an IAM policy
 * document may hold (U+0009, U+000A, U+000D and U+0020-U+00FF only), since the name ends up in the role's policies.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html#StepFunctions-CreateStateMachine-request-name
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names
 */
/** The special characters Step Functions forbids in names and Map Run labels. */
const FORBIDDEN = '<>{}[]?*"#%\\^|~`$&,;:/';
export const NAME_RULE = `1-${STATE_MACHINE_NAME_MAX} characters from U+0021-U+007E and U+00A1-U+00FF, none of ${[...FORBIDDEN].join(' ')}`;

/** `U+XXXX` for a code point. */
function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `value` cannot be a state machine, alias or version name (Step Functions' rules and what IAM can hold), naming
 * the first offending character as U+XXXX; undefined when it can.
 */
export function nameProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > STATE_MACHINE_NAME_MAX) {
    return `has ${value.length} characters, more than ${STATE_MACHINE_NAME_MAX}`;
  }
  for (const character of value) {
    const code = character.codePointAt(0)!;
    const u = codePoint(code);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0xfffe || code === 0xffff) {
      return `holds ${u}, a control character, which Step Functions forbids in names`;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      return `holds ${u}, a lone surrogate (half of a UTF-16 pair), which Step Functions forbids in names`;
    }
    if (/\s/u.test(character)) return `holds ${u}, white space, which Step Functions forbids in names`;
    if (FORBIDDEN.includes(character)) return `holds ${u} (${character}), which Step Functions forbids in names`;
    if (code > 0xff) {
      return (
        `holds ${u} (${character}), which no IAM policy can hold ` +
        '(IAM accepts only U+0009, U+000A, U+000D and U+0020-U+00FF in a policy document)'
      );
    }
  }
  return undefined;
}

/** The longest Map Run `Label` Step Functions accepts. */
const MAP_RUN_LABEL_MAX = 40;
/** Map Run labels: what Step Functions allows in a `Label`, and never an IAM wildcard. */
export const MAP_RUN_LABEL = new RegExp(`^[^\\s${escapeRegExp(FORBIDDEN)}]{1,${MAP_RUN_LABEL_MAX}}$`);
/** `MAP_RUN_LABEL` in words. */
export const MAP_RUN_LABEL_RULE = `1-${MAP_RUN_LABEL_MAX} characters without white space, wildcards (* ?) or any of ${FORBIDDEN.replace(/[?*]/g, '')}`;

/**
 * What `sts:ExternalId` may hold, in words. For a cross-account `.sync` task Step Functions sends the parent state
 * machine's ARN as the external id when it assumes the task's `Credentials` role, so "the state machine's name must
 * include only characters that the AWS STS AssumeRole API supports".
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/concepts-cross-acct-sync-pattern.html
 * @see https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_RequestParameters
 */
export const EXTERNAL_ID_RULE = '[\\w+=,.@:/-]: ASCII letters, digits and _ + = , . @ : / -';
const EXTERNAL_ID_CHARACTER = /^[\w+=,.@:/-]$/;

/**
 * Why a parent state machine named `name` cannot start a child with `.sync` through `Credentials` (its ARN is the
 * `sts:ExternalId`), naming the first offending character as U+XXXX; undefined when it can.
 */
export function externalIdNameProblem(name: string): string | undefined {
  for (const character of name) {
    if (!EXTERNAL_ID_CHARACTER.test(character)) {
      return `holds ${codePoint(character.codePointAt(0)!)} (${character}), which sts:ExternalId does not allow (${EXTERNAL_ID_RULE})`;
    }
  }
  return undefined;
}
