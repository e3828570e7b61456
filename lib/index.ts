export * from './nested-workflow-role';
