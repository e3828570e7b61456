export * from './nested-workflow-role';
export * from './nested-workflow-target-role';
export * from './nested-workflow-checks';
