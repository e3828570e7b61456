import { decide, Decision, SourcedPolicy } from './evaluator';
import { Finding, ParentCheck, ReadParent } from './parent-check';
import { parentNeeds, RequiredCall } from './required-calls';
import { RUN_ORDER } from './rules';
import { isObject, Json, JsonObject, objectOf, stringifyJson, stringsIn } from '../model/json';
import { mayHoldNestedWorkflows } from '../read/asl';
import { findRolePolicies } from '../read/role-policies';
import { asString, describeMarker, opaqueMarkersIn, TemplateReader } from '../read/template-reader';

/**
 * The checks on one template: for every state machine that starts children, the calls it needs against the
 * policies of its role, judged by each rule (`rules/`), in the rules' order.
 */
export function checkTemplate(reader: TemplateReader): Finding[] {
  return checkParents(reader).findings;
}

/** The findings of `checkTemplate`, and how many state machines of the template it checked. */
export function checkParents(reader: TemplateReader): { findings: Finding[]; parents: number } {
  const findings: Finding[] = [];

  // Every parent first (near misses of one parent may be calls of another that shares its role).
  const read = readParents(reader);
  const callsByRole = new Map<string, RequiredCall[]>();
  for (const parent of read) {
    if (!parent.role) continue;
    const calls = callsByRole.get(parent.role) ?? [];
    calls.push(...parent.calls);
    callsByRole.set(parent.role, calls);
  }

  for (const parent of read) {
    const check: ParentCheck = {
      parent,
      reader,
      decisions:
        parent.role === undefined ? [] : parent.calls.map((call) => ({ call, ...decideWithBoundary(parent, call) })),
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
  return { findings, parents: read.length };
}

/**
 * What the role's policies decide, then its permissions boundary when the template defines it: a boundary only takes
 * away (a call it does not allow is denied whatever the policies allow).
 */
function decideWithBoundary(
  parent: ReadParent,
  call: RequiredCall,
): { decision: Decision; deniedByBoundary?: boolean } {
  const decision = decide(parent.policies, call);
  if (parent.boundary === undefined || decision.decision !== 'Allowed') return { decision };
  const bounded = decide(parent.boundary, call);
  if (bounded.decision === 'Allowed') return { decision };
  if (bounded.decision === 'Undecidable') {
    return {
      decision: {
        ...decision,
        decision: 'Undecidable',
        reasons: bounded.reasons.map((r) => `${r} (in the permissions boundary)`),
      },
    };
  }
  return { decision: { ...decision, decision: bounded.decision }, deniedByBoundary: true };
}

/** Every state machine of the template that starts children: its role, the role's policies and the calls it needs. */
export function readParents(reader: TemplateReader): ReadParent[] {
  const parents = Object.entries(reader.resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  const childTypes = new Map<string, 'STANDARD' | 'EXPRESS'>();
  for (const [logicalId, resource] of parents) {
    const arn = reader.resolveString({ 'Fn::GetAtt': [logicalId, 'Arn'] });
    childTypes.set(arn, resource.Properties?.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD');
  }
  // A SAM state machine becomes a state machine and its role only when CloudFormation runs the SAM transform.
  const serverless = Object.entries(reader.resources)
    .filter(([, r]) => r.Type === SAM_STATE_MACHINE)
    .map(([logicalId]) => ({
      ...noCalls(logicalId),
      undecidable: [
        `${logicalId} is an ${SAM_STATE_MACHINE}: the SAM transform makes its state machine and role when CloudFormation processes the template, so the checks cannot read them here. ` +
          'Check the processed template: aws cloudformation get-template --stack-name <stack> [--change-set-name <change set>] --template-stage Processed --query TemplateBody.',
      ],
    }));
  return [
    ...parents
      .map(([logicalId, resource]) => readParent(reader, logicalId, resource.Properties ?? {}, childTypes))
      .filter((p): p is ReadParent => p !== undefined),
    ...serverless,
  ];
}

/** The resource type of a SAM state machine (`Transform: AWS::Serverless-2016-10-31`). */
const SAM_STATE_MACHINE = 'AWS::Serverless::StateMachine';

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
    definition = stringifyJson(reader.resolve(props.Definition));
  } else if (isObject(props.DefinitionS3Location)) {
    const key = reader.resolveString(props.DefinitionS3Location.Key);
    definition = reader.fileAsset(key);
    if (definition === undefined) {
      return {
        ...noCalls(logicalId),
        undecidable: [
          `The definition is in S3 (${key}), not in the template or its cloud assembly: it cannot be read.`,
        ],
      };
    }
    rawDefinitions.push(definition);
  }
  if (definition === undefined) return undefined;
  const unreadable = unreadableDefinition(definition);
  if (unreadable !== undefined) {
    return {
      ...noCalls(logicalId),
      undecidable: [
        `The definition of ${logicalId} ${unreadable}: the checks cannot read it, so what its role needs is not checked. Give the definition as a literal (DefinitionString, Definition) or check it by hand.`,
      ],
    };
  }
  const resolvedSubstitutions = reader.resolve(props.DefinitionSubstitutions);
  const substitutions = objectOf(
    isObject(resolvedSubstitutions) ? Object.entries(resolvedSubstitutions).map(([k, v]) => [k, asString(v)]) : [],
  ) as { [key: string]: string };
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
    // A version or alias ARN (`<child>:7`, `<child>:PROD`) is of the child's type.
    childType: (arn) => childTypes.get(arn.split(':').slice(0, 7).join(':')),
    name: reader.resolveString({ 'Fn::GetAtt': [logicalId, 'Name'] }),
    stateMachineType: express ? 'EXPRESS' : 'STANDARD',
  });
  undecidable.push(...needs.undecidable);
  const { cannotRun } = needs;
  if (needs.calls.length === 0 && needs.undecidable.length === 0 && cannotRun.length === 0) return undefined;

  const knownAws = reader.env.partition === 'aws';
  const wrongPartition: string[] = [];
  // In the strings themselves, not in their JSON text (whose escapes would end up in the message).
  const literals = (value: Json) => [
    ...new Set(stringsIn(value).flatMap((text) => text.match(/arn:aws:[^"\s,]*/g) ?? [])),
  ];
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
      ...noCalls(logicalId),
      calls: needs.calls,
      undecidable,
      cannotRun,
      wrongPartition,
    };
  }
  const { policies, external, boundary, raw } = rolePolicies(reader, roleId);
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
    boundary: boundary.policies,
    externalBoundary: boundary.external,
    calls: needs.calls,
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
): {
  policies: SourcedPolicy[];
  external: string[];
  boundary: { policies?: SourcedPolicy[]; external?: string };
  raw: { label: string; document: Json }[];
} {
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
  // The permissions boundary: a managed policy of the template is evaluated, one from elsewhere is not known.
  const boundaryArn = reader.resources[roleId].Properties?.PermissionsBoundary;
  let boundary: { policies?: SourcedPolicy[]; external?: string } = {};
  if (boundaryArn !== undefined) {
    const arn = reader.resolveString(boundaryArn);
    const id = Object.keys(reader.resources).find(
      (r) => reader.resources[r].Type === 'AWS::IAM::ManagedPolicy' && refersTo(boundaryArn, r),
    );
    const document = id === undefined ? undefined : reader.resolve(reader.resources[id].Properties?.PolicyDocument);
    boundary =
      id !== undefined && isObject(document)
        ? { policies: [{ logicalId: id, label: `the permissions boundary ${id}`, document }] }
        : { external: `the permissions boundary ${arn}` };
  }
  return { policies, external, boundary, raw };
}

/** A parent read without calls. */
function noCalls(logicalId: string): ReadParent {
  return {
    logicalId,
    policies: [],
    externalPolicies: [],
    calls: [],
    undecidable: [],
    cannotRun: [],
    wrongPartition: [],
  };
}

/**
 * Why the definition text is not a state machine definition the checks can read (a value chosen by `Fn::If`, made by
 * `Fn::ToJsonString`, imported, a parameter without Default), or undefined when it is JSON text of an object.
 */
function unreadableDefinition(definition: string): string | undefined {
  try {
    if (isObject(JSON.parse(definition))) return undefined;
  } catch {
    // not JSON: said below
  }
  const unknown = opaqueMarkersIn(definition);
  return unknown.length > 0
    ? `is not known at synthesis (${[...new Set(unknown)].map(describeMarker).join(', ')})`
    : 'is not a JSON object';
}
