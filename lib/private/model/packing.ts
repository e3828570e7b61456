import { PSEUDO_PARAMETER_MAX, UNKNOWN_VALUE_MAX } from './bounds';
import { hasOwn, isIntrinsic } from './json';
import { SizedResource, StatementGroup } from './statements';

/** A statement of a packed document: a share of one statement group's resources. */
export interface PackedStatement {
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: StatementGroup['conditions'];
}

/** A policy document's statements and an upper bound of its deployed size. */
export interface PackedDocument {
  readonly statements: PackedStatement[];
  readonly size: number;
  /** Index of the budget this document was packed into (0: the first, the role's inline policy). */
  readonly slot: number;
}

const DOCUMENT_OVERHEAD = JSON.stringify({ Version: '2012-10-17', Statement: [] }).length;

/** Size of a statement with no resource, plus the comma that separates it from the previous one. */
function statementOverhead(group: StatementGroup): number {
  return (
    JSON.stringify({ Action: group.actions, Condition: group.conditions, Effect: 'Allow', Resource: [] }).length + 1
  );
}

/** A quoted resource in a list, with its comma. */
function resourceSize(resource: SizedResource): number {
  return resource.length + 3;
}

/**
 * Packs statement groups into documents whose size budgets are given in order (the role's inline policy first, then
 * managed policies), splitting a group's resources across documents where needed. Deterministic: groups and
 * resources keep their order.
 *
 * @returns the non-empty documents, or undefined if the groups do not fit in the budgets
 */
export function packStatements(groups: StatementGroup[], budgets: number[]): PackedDocument[] | undefined {
  const documents: PackedDocument[] = [];
  let budgetIndex = 0;
  let current: { statements: PackedStatement[]; size: number } = { statements: [], size: DOCUMENT_OVERHEAD };
  const close = () => {
    if (current.statements.length > 0) documents.push({ ...current, slot: budgetIndex });
    current = { statements: [], size: DOCUMENT_OVERHEAD };
    budgetIndex++;
  };
  for (const group of groups) {
    let statement: PackedStatement | undefined;
    for (const resource of group.resources) {
      for (;;) {
        if (budgetIndex >= budgets.length) return undefined;
        const cost = resourceSize(resource) + (statement ? 0 : statementOverhead(group));
        if (current.size + cost <= budgets[budgetIndex]) {
          if (!statement) {
            statement = { actions: group.actions, resources: [], conditions: group.conditions };
            current.statements.push(statement);
          }
          statement.resources.push(resource.arn);
          current.size += cost;
          break;
        }
        close();
        statement = undefined;
      }
    }
  }
  close();
  return documents;
}

/** Upper bound of the deployed length of a `Ref` (`attribute` undefined) or `Fn::GetAtt`, or undefined if unknown. */
export type ReferenceBound = (logicalId: string, attribute?: string) => number | undefined;

/**
 * Upper bound of the size IAM counts (characters without white space) of a policy document once deployed, from its
 * resolved CloudFormation form: literal text as it is, each intrinsic function by the longest text it can deploy as.
 */
export function deployedSize(document: unknown, reference: ReferenceBound): number {
  return jsonSize(document, reference);
}

function jsonSize(value: unknown, reference: ReferenceBound): number {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)?.length ?? 0;
  if (Array.isArray(value)) {
    return 2 + value.reduce((sum: number, item) => sum + jsonSize(item, reference), 0) + Math.max(0, value.length - 1);
  }
  if (isIntrinsic(value)) return 2 + stringBound(value, reference);
  const entries = Object.entries(value);
  return (
    2 +
    entries.reduce((sum, [key, item]) => sum + JSON.stringify(key).length + 1 + jsonSize(item, reference), 0) +
    Math.max(0, entries.length - 1)
  );
}

/** Upper bound of the length of the text an intrinsic function (or a literal) deploys as, escaped as JSON. */
function stringBound(value: unknown, reference: ReferenceBound): number {
  if (typeof value === 'string') return JSON.stringify(value).length - 2;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isIntrinsic(value)) {
    return UNKNOWN_VALUE_MAX;
  }
  const [fn, args] = Object.entries(value)[0];
  const list = (items: unknown) => (Array.isArray(items) ? items : undefined);
  switch (fn) {
    case 'Ref':
      return typeof args === 'string' ? refBound(args, undefined, reference) : UNKNOWN_VALUE_MAX;
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = list(args) ?? [];
      return typeof logicalId === 'string' && typeof attribute === 'string'
        ? (reference(logicalId, attribute) ?? UNKNOWN_VALUE_MAX)
        : UNKNOWN_VALUE_MAX;
    }
    case 'Fn::Join': {
      const [separator, items] = list(args) ?? [];
      const parts = list(items);
      if (typeof separator !== 'string' || !parts) return UNKNOWN_VALUE_MAX;
      return (
        parts.reduce((sum: number, part) => sum + stringBound(part, reference), 0) +
        separator.length * Math.max(0, parts.length - 1)
      );
    }
    case 'Fn::Select': {
      const [, from] = list(args) ?? [];
      const options = list(from);
      if (options) return Math.max(0, ...options.map((option) => stringBound(option, reference)));
      const split =
        from !== null && typeof from === 'object' ? (from as { [fn: string]: unknown })['Fn::Split'] : undefined;
      const [, source] = list(split) ?? [];
      return source === undefined ? UNKNOWN_VALUE_MAX : stringBound(source, reference);
    }
    case 'Fn::If': {
      const [, whenTrue, whenFalse] = list(args) ?? [];
      return Math.max(stringBound(whenTrue, reference), stringBound(whenFalse, reference));
    }
    case 'Fn::Sub': {
      const [template, variables] = typeof args === 'string' ? [args, {}] : (list(args) ?? []);
      if (typeof template !== 'string') return UNKNOWN_VALUE_MAX;
      const values = (variables ?? {}) as { [name: string]: unknown };
      let bound = 0;
      const literal = template.replace(/\$\{([^!}][^}]*)\}/g, (_match, name: string) => {
        if (hasOwn(values, name)) {
          bound += stringBound(values[name], reference);
        } else if (name.includes('.')) {
          const [logicalId, ...attribute] = name.split('.');
          bound += reference(logicalId, attribute.join('.')) ?? UNKNOWN_VALUE_MAX;
        } else {
          bound += refBound(name, undefined, reference);
        }
        return '';
      });
      return bound + JSON.stringify(literal).length - 2;
    }
    default:
      return UNKNOWN_VALUE_MAX;
  }
}

function refBound(name: string, attribute: string | undefined, reference: ReferenceBound): number {
  if (hasOwn(PSEUDO_PARAMETER_MAX, name)) return PSEUDO_PARAMETER_MAX[name];
  return reference(name, attribute) ?? UNKNOWN_VALUE_MAX;
}
