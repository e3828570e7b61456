/**
 * Setup of the jest run on the newest aws-cdk-lib (jest.aws-cdk-lib-newest.json), before each test file.
 *
 * From 2.274, aws-cdk-lib validates every synthesized template against CloudFormation's rules. Loading those rules takes
 * 5 to 10 s of CPU in each test file (jest gives every file its own module registry), which nearly doubled this run.
 * The tests assert IAM policies, not template validity, so the built-in validation is off here (`CDK_VALIDATION`, read
 * by aws-cdk-lib at synthesis); test/aws-cdk-lib-version.test.ts turns it back on to validate the example app's
 * templates once. Policy-validation plugins (cdk-nag) still run.
 */
process.env.CDK_VALIDATION = process.env.CDK_VALIDATION ?? 'false';
