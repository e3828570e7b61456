import { SizedResource, StatementGroup } from './grants';

/** IAM quotas, in characters without white space (what IAM counts). */
export const INLINE_POLICIES_QUOTA = 10_240;
export const MANAGED_POLICY_QUOTA = 6_144;
export const MANAGED_POLICIES_PER_ROLE = 10;

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
