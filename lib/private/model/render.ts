import { Token } from 'aws-cdk-lib';
import { hasOwn } from './json';

/**
 * How messages show values: the one renderer. Tokens never appear as `${Token[...]}`; a value CloudFormation
 * resolves is shown in `Fn::Sub` notation.
 */

/**
 * A string for messages: tokens as `<partition>` (the partition pseudo parameter) or `<token>`, characters a terminal
 * would not show as `\uXXXX`.
 */
export function displayValue(value: string): string {
  const text = Token.isUnresolved(value)
    ? value.replace(/\$\{Token\[AWS\.Partition\.\d+\]\}/g, '<partition>').replace(/\$\{Token\[[^\]]*\]\}/g, '<token>')
    : value;
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\ud800-\udfff\ufffe\uffff]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The pseudo parameters, as placeholders. */
const PSEUDO_PLACEHOLDERS: { [name: string]: string } = {
  'AWS::Partition': 'partition',
  'AWS::Region': 'region',
  'AWS::AccountId': 'account',
};

/**
 * A resolved CloudFormation value for messages, `Fn::Join` joined, in one of two notations:
 * - `sub` (`Fn::Sub`'s): `Ref` as `${Logical}` (`${AWS::Partition}`), `Fn::GetAtt` as `${Logical.Attr}`, anything
 *   else as JSON;
 * - `placeholder` (as `displayValue` shows tokens): the pseudo parameters as `<partition>`, `<region>`, `<account>`,
 *   another `Ref` as `<Logical>`, anything else as `<token>`.
 */
export function renderResolved(value: unknown, notation: 'sub' | 'placeholder' = 'sub'): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as { [key: string]: unknown };
    if (typeof v.Ref === 'string') {
      if (notation === 'sub') return `\${${v.Ref}}`;
      const pseudo = hasOwn(PSEUDO_PLACEHOLDERS, v.Ref);
      return `<${pseudo ? PSEUDO_PLACEHOLDERS[v.Ref] : v.Ref}>`;
    }
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && notation === 'sub') return `\${${getAtt.join('.')}}`;
    const join = v['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part) => renderResolved(part, notation)).join(join[0]);
    }
  }
  return notation === 'sub' ? JSON.stringify(value) : '<token>';
}

/** Text cut to 120 characters for messages. */
export function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `text` as a regular expression that matches it literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
