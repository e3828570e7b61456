import { CheckRule, Finding, RULES } from './check-rules';
import { MANAGED_RULE_NAME } from './grants';
import { Call, decide, SourcedPolicy, statementApplies, StatementRef } from './policy-evaluator';
import { EXAMPLE_MAP_RUN, parentNeeds, RequiredCall } from './required-calls';
import {
  asString,
  describeMarker,
  isObject,
  Json,
  JsonObject,
  opaqueMarkersIn,
  TemplateReader,
} from './template-reader';

/**
 * The checks on one template: for every state machine that starts children, the calls it needs against the
 * policies of its role (missing, too broad), `arn:aws:` literals (wrong partition), and what cannot be decided.
 */
export function checkTemplate(reader: TemplateReader): Finding[] {
  const findings: Finding[] = [];

  // Every parent first (near misses of one parent may be calls of another that shares its role).
  const read = readParents(reader);
  const callsByRole = new Map<string, RequiredCall[]>();
  for (const parent of read) {
    if (parent.role) callsByRole.set(parent.role, [...(callsByRole.get(parent.role) ?? []), ...parent.calls]);
  }

  for (const parent of read) {
    const add = (rule: CheckRule, message: string, others: string[] = []) =>
      findings.push({ rule, parent: parent.logicalId, resources: others, message, templatePath: reader.templatePath });
    for (const reason of parent.cannotRun) add(RULES.cannotRun, `The definition cannot run: ${reason}`);
    for (const reason of parent.undecidable) add(RULES.undecidable, reason);
    if (parent.wrongPartition.length > 0) {
      add(
        RULES.wrongPartition,
        `The partition of this stack is not known to be aws, but ${parent.wrongPartition.join('; ')} hard-code arn:aws:.`,
      );
    }
    if (parent.role === undefined) continue;
    const missing: string[] = [];
    const allowing: StatementRef[] = [];
    const eventsPolicies: Set<string>[] = [];
    for (const call of parent.calls) {
      const decision = decide(parent.policies, call);
      const described = describeCall(call);
      if (decision.decision === 'Allowed') {
        allowing.push(...decision.allowedBy);
        if (call.kind === 'events') eventsPolicies.push(new Set(decision.allowedBy.map((s) => s.policy.logicalId)));
      } else if (decision.decision === 'Undecidable') {
        add(
          RULES.undecidable,
          `Whether the role allows ${described} cannot be decided: ${decision.reasons.join('; ')}.`,
        );
      } else if (decision.decision === 'ImplicitlyDenied' && parent.externalPolicies.length > 0) {
        add(
          RULES.undecidable,
          `No policy of the template allows ${described}; the role also has ${parent.externalPolicies.join(', ')}, whose document is not in the template.`,
        );
      } else {
        missing.push(`${described}${decision.decision === 'ExplicitlyDenied' ? ' (explicitly denied)' : ''}`);
      }
    }
    if (missing.length > 0) {
      add(RULES.missing, `The role ${parent.role} does not allow: ${missing.join('; ')}.`);
    }
    // The parent must be created after the events grant: Step Functions creates the managed rule then.
    if (parent.needsManagedRule && eventsPolicies.length > 0) {
      const closure = dependencies(reader, parent.logicalId);
      const satisfied = eventsPolicies.every((ids) => [...ids].some((id) => id === parent.role || closure.has(id)));
      if (!satisfied) {
        const holders = [...new Set(eventsPolicies.flatMap((ids) => [...ids]))];
        add(
          RULES.missing,
          `The parent starts a .sync child but does not depend on ${holders.join(' or ')}, which holds the events grant on ` +
            `rule/${MANAGED_RULE_NAME}: CloudFormation may create the parent first, and Step Functions then cannot create the rule. Add DependsOn: ${holders[0]}.`,
          holders,
        );
      }
    }
    const ownCalls = callsByRole.get(parent.role) ?? [];
    const reported = new Set<string>();
    for (const ref of allowing) {
      const key = `${ref.policy.logicalId}#${ref.index}`;
      if (reported.has(key) || ref.statement.Effect !== 'Allow') continue;
      const example = parent.calls
        .flatMap(nearMisses)
        .filter((miss) => !ownCalls.some((c) => sameCall(c, miss)))
        .find((miss) => statementApplies(ref.statement, miss) === 'yes');
      if (!example) continue;
      reported.add(key);
      add(
        RULES.tooBroad,
        `Statement ${ref.index}${typeof ref.statement.Sid === 'string' ? ` (${ref.statement.Sid})` : ''} of ${ref.policy.label} ` +
          `(Action ${JSON.stringify(ref.statement.Action ?? ref.statement.NotAction)}, Resource ${JSON.stringify(ref.statement.Resource ?? ref.statement.NotResource)}) ` +
          `also allows ${describeCall(example)}, which the parent never calls.`,
        [ref.policy.logicalId],
      );
    }
  }
  return findings;
}

/** Every state machine of the template that starts children: its role, the role's policies and the calls it needs. */
export function readParents(reader: TemplateReader): ReadParent[] {
  const parents = Object.entries(reader.resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  const childTypes = new Map<string, 'STANDARD' | 'EXPRESS'>();
  for (const [logicalId, resource] of parents) {
    const arn = reader.resolveString({ 'Fn::GetAtt': [logicalId, 'Arn'] });
    childTypes.set(arn, resource.Properties?.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD');
  }
  return parents
    .map(([logicalId, resource]) => readParent(reader, logicalId, resource.Properties ?? {}, childTypes))
    .filter((p): p is ReadParent => p !== undefined);
}

export interface ReadParent {
  readonly logicalId: string;
  readonly role?: string;
  readonly policies: SourcedPolicy[];
  /** Managed policies (and boundaries) of the role whose document is not in the template. */
  readonly externalPolicies: string[];
  readonly calls: RequiredCall[];
  readonly needsManagedRule: boolean;
  readonly undecidable: string[];
  /** Why the definition cannot run (NWR5). */
  readonly cannotRun: string[];
  readonly wrongPartition: string[];
}

function readParent(
  reader: TemplateReader,
  logicalId: string,
  props: JsonObject,
  childTypes: Map<string, 'STANDARD' | 'EXPRESS'>,
): ReadParent | undefined {
  const undecidable: string[] = [];
  const rawDefinitions: Json[] = [
    props.DefinitionString ?? null,
    props.Definition ?? null,
    props.DefinitionSubstitutions ?? null,
  ];
  let definition: string | undefined;
  if (props.DefinitionString !== undefined) {
    definition = reader.resolveString(props.DefinitionString);
  } else if (props.Definition !== undefined) {
    definition = JSON.stringify(reader.resolve(props.Definition));
  } else if (isObject(props.DefinitionS3Location)) {
    const key = reader.resolveString(props.DefinitionS3Location.Key);
    definition = reader.fileAsset(key);
    if (definition === undefined) {
      return {
        logicalId,
        policies: [],
        externalPolicies: [],
        calls: [],
        needsManagedRule: false,
        undecidable: [
          `The definition is in S3 (${key}), not in the template or its cloud assembly: it cannot be read.`,
        ],
        cannotRun: [],
        wrongPartition: [],
      };
    }
    rawDefinitions.push(definition);
  }
  if (definition === undefined) return undefined;
  // Only parents that may start a child (a nested workflow, a Map Run) are checked, and Express parents that may wait.
  const express = props.StateMachineType === 'EXPRESS';
  if (
    !/startExecution|startSyncExecution|DISTRIBUTED/i.test(definition) &&
    !(express && /\.sync|waitForTaskToken/.test(definition))
  ) {
    return undefined;
  }

  const substitutions: { [key: string]: string } = {};
  const resolvedSubstitutions = reader.resolve(props.DefinitionSubstitutions);
  if (isObject(resolvedSubstitutions)) {
    for (const [k, v] of Object.entries(resolvedSubstitutions)) substitutions[k] = asString(v);
  }
  const needs = parentNeeds({
    where: logicalId,
    definition,
    substitutions,
    partition: reader.partition,
    region: reader.region,
    account: reader.account,
    childType: (arn) => childTypes.get(arn),
    name: reader.resolveString({ 'Fn::GetAtt': [logicalId, 'Name'] }),
    stateMachineType: express ? 'EXPRESS' : 'STANDARD',
  });
  undecidable.push(...needs.undecidable);
  const { cannotRun } = needs;
  if (needs.calls.length === 0 && needs.undecidable.length === 0 && cannotRun.length === 0) return undefined;

  const knownAws = reader.env.partition === 'aws';
  const wrongPartition: string[] = [];
  const literals = (value: Json) => [...new Set(JSON.stringify(value).match(/arn:aws:[^"\s,]*/g) ?? [])];
  if (!knownAws) {
    const inDefinition = literals(rawDefinitions);
    if (inDefinition.length > 0) wrongPartition.push(`the definition's ${inDefinition.join(', ')}`);
  }

  const roleId = roleOf(reader, props.RoleArn);
  if (roleId === undefined) {
    undecidable.push(
      `The role ${reader.resolveString(props.RoleArn)} is not defined in this template: its policies cannot be checked here. Check the template that defines it.`,
    );
    return {
      logicalId,
      policies: [],
      externalPolicies: [],
      calls: needs.calls,
      needsManagedRule: needs.needsManagedRule,
      undecidable,
      cannotRun,
      wrongPartition,
    };
  }
  const { policies, external, raw } = rolePolicies(reader, roleId);
  if (!knownAws) {
    for (const { label, document } of raw) {
      const found = literals(document);
      if (found.length > 0) wrongPartition.push(`${label}'s ${found.join(', ')}`);
    }
  }
  return {
    logicalId,
    role: roleId,
    policies,
    externalPolicies: external,
    calls: needs.calls,
    needsManagedRule: needs.needsManagedRule,
    undecidable,
    cannotRun,
    wrongPartition,
  };
}

/** The logical id of the template's role that `roleArn` names. */
function roleOf(reader: TemplateReader, roleArn: Json | undefined): string | undefined {
  if (isObject(roleArn) && Array.isArray(roleArn['Fn::GetAtt']) && typeof roleArn['Fn::GetAtt'][0] === 'string') {
    const id = roleArn['Fn::GetAtt'][0];
    if (reader.resources[id]?.Type === 'AWS::IAM::Role') return id;
  }
  const resolved = reader.resolveString(roleArn);
  return Object.keys(reader.resources).find(
    (id) =>
      reader.resources[id].Type === 'AWS::IAM::Role' &&
      reader.resolveString({ 'Fn::GetAtt': [id, 'Arn'] }) === resolved,
  );
}

/** Every policy of the template that applies to the role, and the managed policies whose document is elsewhere. */
function rolePolicies(
  reader: TemplateReader,
  roleId: string,
): { policies: SourcedPolicy[]; external: string[]; raw: { label: string; document: Json }[] } {
  const role = reader.resources[roleId];
  const props = role.Properties ?? {};
  const policies: SourcedPolicy[] = [];
  const raw: { label: string; document: Json }[] = [];
  const external: string[] = [];
  const addPolicy = (logicalId: string, label: string, document: Json | undefined) => {
    const resolved = reader.resolve(document);
    raw.push({ label, document: document ?? null });
    if (isObject(resolved)) policies.push({ logicalId, label, document: resolved });
  };
  for (const [index, policy] of (Array.isArray(props.Policies) ? props.Policies : []).entries()) {
    if (!isObject(policy)) continue;
    addPolicy(
      roleId,
      `${roleId}.Policies[${index}] (${asString(reader.resolve(policy.PolicyName))})`,
      policy.PolicyDocument,
    );
  }
  const refsRole = (value: Json) => reader.resolveString(value) === reader.resolveString({ Ref: roleId });
  const attached = new Set<string>();
  for (const arn of Array.isArray(props.ManagedPolicyArns) ? props.ManagedPolicyArns : []) {
    const resolved = reader.resolveString(arn);
    const inTemplate = Object.keys(reader.resources).find(
      (id) => reader.resources[id].Type === 'AWS::IAM::ManagedPolicy' && reader.resolveString({ Ref: id }) === resolved,
    );
    if (inTemplate) attached.add(inTemplate);
    else external.push(`the managed policy ${resolved}`);
  }
  if (props.PermissionsBoundary !== undefined) {
    external.push(`the permissions boundary ${reader.resolveString(props.PermissionsBoundary)}`);
  }
  for (const [id, resource] of Object.entries(reader.resources)) {
    const p = resource.Properties ?? {};
    const roles = Array.isArray(p.Roles) ? p.Roles : [];
    if (resource.Type === 'AWS::IAM::Policy' && roles.some(refsRole)) {
      addPolicy(id, `${id} (AWS::IAM::Policy)`, p.PolicyDocument);
    } else if (resource.Type === 'AWS::IAM::ManagedPolicy' && (roles.some(refsRole) || attached.has(id))) {
      addPolicy(id, `${id} (AWS::IAM::ManagedPolicy)`, p.PolicyDocument);
    } else if (resource.Type === 'AWS::IAM::RolePolicy' && p.RoleName !== undefined && refsRole(p.RoleName)) {
      addPolicy(id, `${id} (AWS::IAM::RolePolicy)`, p.PolicyDocument);
    }
  }
  // A permissions boundary defined in the template is evaluated as a Deny of what it does not allow: not here.
  return { policies, external, raw };
}

/** Every resource `logicalId` depends on: DependsOn, Ref, Fn::GetAtt and Fn::Sub references, transitively. */
function dependencies(reader: TemplateReader, logicalId: string): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string) => {
    const resource = reader.resources[id];
    if (!resource) return;
    const direct = new Set<string>([resource.DependsOn ?? []].flat());
    collectReferences(resource.Properties ?? null, direct);
    for (const dep of direct) {
      if (seen.has(dep) || !(dep in reader.resources)) continue;
      seen.add(dep);
      visit(dep);
    }
  };
  visit(logicalId);
  return seen;
}

function collectReferences(value: Json, into: Set<string>): void {
  if (Array.isArray(value)) {
    value.forEach((v) => collectReferences(v, into));
  } else if (isObject(value)) {
    if (typeof value.Ref === 'string') into.add(value.Ref);
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') into.add(getAtt[0]);
    if (typeof getAtt === 'string') into.add(getAtt.split('.')[0]);
    const sub = value['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : '';
    for (const m of text.matchAll(/\$\{([^}!.]*)[^}]*\}/g)) into.add(m[1]);
    Object.values(value).forEach((v) => collectReferences(v, into));
  }
}

const OTHER_ACCOUNTS = ['999999999999', '888888888888'];
const OTHER_REGIONS = ['ap-south-2', 'ap-south-1'];

/** A state machine that is neither the parent nor one of its children. */
const OTHER_STATE_MACHINE = 'OtherStateMachine';

/**
 * Calls the parent never makes, close to one it makes: a name that merely starts with the child's (`<name>Admin`),
 * another account and region, another rule, another action on the same resource; for its Map Runs, another state
 * machine, the executions of `<parent>Admin`, another Map Run label, a redrive of the parent's own executions.
 */
export function nearMisses(call: RequiredCall): RequiredCall[] {
  const parts = call.resource.split(':');
  const other = (index: number, values: string[]) => {
    const copy = [...parts];
    copy[index] = values.find((v) => v !== parts[index])!;
    return copy.join(':');
  };
  const misses: RequiredCall[] = [];
  const add = (action: string, resource: string, context: Call['context'] | null = call.context) =>
    misses.push({ ...call, action, resource, context: context ?? undefined });
  switch (call.kind) {
    case 'start':
      add(call.action, `${call.resource}Admin`);
      add('states:DeleteStateMachine', call.resource, null);
      break;
    case 'executions': {
      const name = parts[6];
      add(call.action, [...parts.slice(0, 6), `${name}Admin`, ...parts.slice(7)].join(':'));
      break;
    }
    case 'events':
      add(call.action, call.resource.replace(`rule/${MANAGED_RULE_NAME}`, 'rule/SomeOtherRule'));
      add('events:DeleteRule', call.resource);
      break;
    case 'assumeRole':
      add(call.action, `${call.resource}Admin`);
      return misses;
    case 'mapRun': {
      // stateMachine:<parent>, execution:<parent>:<id> or execution:<parent>/<label>:<id>
      const [name, label] = parts[6].split('/');
      const named = (n: string, l: string | undefined) =>
        [...parts.slice(0, 6), l === undefined ? n : `${n}/${l}`, ...parts.slice(7)].join(':');
      add(call.action, named(`${name}Admin`, label));
      add(call.action, named(OTHER_STATE_MACHINE, label));
      if (parts[5] === 'stateMachine') add('states:DeleteStateMachine', call.resource, null);
      if (label !== undefined) {
        // Another label of this parent when the Map Runs are labelled (an unlabelled Map Run may have any label).
        if (label !== EXAMPLE_MAP_RUN) add(call.action, named(name, `${label}Other`));
        add(call.action, named(name, undefined));
      }
      break;
    }
  }
  add(call.action, other(4, OTHER_ACCOUNTS));
  add(call.action, other(3, OTHER_REGIONS));
  return misses;
}

function sameCall(a: Call, b: Call): boolean {
  return a.action === b.action && a.resource === b.resource && JSON.stringify(a.context) === JSON.stringify(b.context);
}

function describeCall(call: Call): string {
  const context = call.context
    ? ` with ${Object.entries(call.context)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`
    : '';
  const states = (call as Partial<RequiredCall>).states;
  const unknown = opaqueMarkersIn(call.resource);
  return (
    `${call.action} on ${call.resource}${context}` +
    (states ? ` (state ${states.map((s) => `'${s}'`).join(', ')})` : '') +
    (unknown.length > 0 ? ` [${unknown.map(describeMarker).join(', ')}]` : '')
  );
}
