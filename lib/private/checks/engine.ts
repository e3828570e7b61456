import { decide, SourcedPolicy } from './evaluator';
import { Finding, ParentCheck, ReadParent } from './parent-check';
import { parentNeeds, RequiredCall } from './required-calls';
import { RUN_ORDER } from './rules';
import { isObject, Json, JsonObject } from '../model/json';
import { mayHoldNestedWorkflows } from '../read/asl';
import { findRolePolicies } from '../read/role-policies';
import { asString, TemplateReader } from '../read/template-reader';

/**
 * The checks on one template: for every state machine that starts children, the calls it needs against the
 * policies of its role, judged by each rule (`rules/`), in the rules' order.
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
    const check: ParentCheck = {
      parent,
      reader,
      decisions:
        parent.role === undefined
          ? []
          : parent.calls.map((call) => ({ call, decision: decide(parent.policies, call) })),
      roleCalls: parent.role === undefined ? [] : (callsByRole.get(parent.role) ?? []),
    };
    for (const rule of RUN_ORDER) {
      for (const { message, resources } of rule.find(check)) {
        findings.push({
          rule,
          parent: parent.logicalId,
          resources: resources ?? [],
          message,
          templatePath: reader.templatePath,
        });
      }
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
  const substitutions: { [key: string]: string } = {};
  const resolvedSubstitutions = reader.resolve(props.DefinitionSubstitutions);
  if (isObject(resolvedSubstitutions)) {
    for (const [k, v] of Object.entries(resolvedSubstitutions)) substitutions[k] = asString(v);
  }
  // Only parents that may start a child (a nested workflow, a Map Run) are checked, and Express parents that may wait.
  const express = props.StateMachineType === 'EXPRESS';
  if (!mayHoldNestedWorkflows([definition, ...Object.values(substitutions)].join('\n'), express)) return undefined;

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
  const refersTo = (value: unknown, id: string) =>
    reader.resolveString(value as Json) === reader.resolveString({ Ref: id });
  const found = findRolePolicies(roleId, Object.entries(reader.resources), refersTo);
  const policies: SourcedPolicy[] = [];
  const raw: { label: string; document: Json }[] = [];
  for (const policy of found.policies) {
    const label =
      policy.source === 'Policies'
        ? `${roleId}.Policies[${policy.index}] (${asString(reader.resolve(policy.policyName as Json))})`
        : `${policy.logicalId} (${policy.source})`;
    const document = (policy.document as Json | undefined) ?? null;
    raw.push({ label, document });
    const resolved = reader.resolve(document);
    if (isObject(resolved)) policies.push({ logicalId: policy.logicalId, label, document: resolved });
  }
  const external = found.managedPolicyArns
    .filter((m) => m.logicalId === undefined)
    .map((m) => `the managed policy ${reader.resolveString(m.arn as Json)}`);
  const boundary = reader.resources[roleId].Properties?.PermissionsBoundary;
  if (boundary !== undefined) external.push(`the permissions boundary ${reader.resolveString(boundary)}`);
  // A permissions boundary defined in the template is evaluated as a Deny of what it does not allow: not here.
  return { policies, external, raw };
}
