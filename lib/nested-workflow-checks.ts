import {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import { checkAppTemplates } from './private/checks/app';
import { RULES } from './private/checks/rules';

/**
 * A CDK policy-validation plugin that checks the role of every Step Functions state machine that starts child state
 * machines, whatever built it (this library, aws-cdk-lib's `StepFunctionsStartExecution`, an L1, `CfnInclude`).
 *
 * For each `AWS::StepFunctions::StateMachine` of the synthesized templates it reads the definition (`DefinitionString`,
 * `Definition`, `DefinitionS3Location` from the cloud assembly, `DefinitionSubstitutions`), works out every call Step
 * Functions makes for its nested workflows (the same engine as `NestedWorkflowRole`), and evaluates the policies of
 * its role in the template against them. Rules (acknowledge by id, like cdk-nag's):
 *
 * - `NWR1` (error): a call the parent needs that no statement allows, or a parent that does not depend on the policy
 *   holding the events grant of a `.sync` child;
 * - `NWR2` (warning): a statement that also allows calls the parent never makes (`"*"`, `execution:<name>*`, other
 *   accounts, regions or rules), with one example;
 * - `NWR3` (warning): an `arn:aws:` literal in a stack whose partition is not known to be `aws`;
 * - `NWR4` (warning): what cannot be decided at synthesis (a parameter without Default, a child chosen at run time,
 *   a condition the checks do not evaluate, a managed policy outside the template);
 * - `NWR5` (error): a definition that cannot run, with the construct's own error text (a task that waits in a parent
 *   whose `StateMachineType` is EXPRESS or in an EXPRESS-mode Distributed Map, a Map Run label Step Functions refuses).
 *
 * The calls include the Map Runs of the parent's Distributed Maps (on the parent's own ARN) and the Express
 * executions of a `.sync` child the template defines as EXPRESS.
 *
 * The report's `success` is false only when an unacknowledged `NWR1` or `NWR5` finding remains.
 *
 * @example
 * declare const app: App;
 *
 * Validations.of(app).addPlugins(new NestedWorkflowChecks());
 */
export class NestedWorkflowChecks implements IPolicyValidationPlugin {
  /** The plugin's name in the validation report, and the prefix of app-wide acknowledgements (`NestedWorkflowChecks::NWR2`). */
  public readonly name: string = 'NestedWorkflowChecks';

  /** The rule ids this plugin reports. */
  public readonly ruleIds?: string[] = RULES.map((rule) => rule.id);

  /**
   * Checks the templates of the app.
   *
   * @param context the templates and the app
   */
  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const findings = checkAppTemplates(context.templatePaths, context.appConstruct);
    const violations: PolicyViolation[] = findings.map((finding) => ({
      ruleName: finding.rule.id,
      description: `${finding.message} (${finding.rule.info})`,
      fix: finding.rule.fix,
      severity: finding.rule.severity,
      // One violating resource, the parent: a finding is reported once (its message names the policies concerned).
      violatingResources: [
        { resourceLogicalId: finding.parent, templatePath: finding.templatePath, locations: ['Properties/RoleArn'] },
      ],
    }));
    return { success: findings.every((f) => f.rule.severity !== 'error'), violations };
  }
}
