import * as fs from 'fs';
import * as path from 'path';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { readTemplateFile } from './template-file';
import { TemplateEnv, TemplateError } from './template-reader';
import { isObject, Json, JsonObject } from '../model/json';

/**
 * The templates of a cloud assembly (`cdk.out`), read from its `manifest.json`: every stack's template with the
 * stack's environment, the templates of its nested stacks (with the same environment), and those of nested
 * assemblies (stages).
 */
export interface AssemblyTemplate {
  readonly templatePath: string;
  readonly env: TemplateEnv;
  /** The template, read once (its nested stacks are found in it). */
  readonly template: JsonObject;
}

export function assemblyTemplates(directory: string): AssemblyTemplate[] {
  const found: AssemblyTemplate[] = [];
  const todo = [directory];
  const seen = new Set<string>();
  while (todo.length > 0) {
    const dir = todo.shift()!;
    if (seen.has(path.resolve(dir))) continue;
    seen.add(path.resolve(dir));
    const manifestPath = path.join(dir, 'manifest.json');
    let manifest: Json;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf-8'));
    } catch (e) {
      throw new TemplateError(
        `${dir} is a directory but not a cloud assembly: cannot read its manifest.json (${(e as Error).message.split('\n')[0]}). Give a template file, or the cdk.out directory that \`cdk synth\` writes.`,
      );
    }
    const artifacts = isObject(manifest) && isObject(manifest.artifacts) ? manifest.artifacts : {};
    for (const artifact of Object.values(artifacts)) {
      if (!isObject(artifact) || !isObject(artifact.properties)) continue;
      const { properties } = artifact;
      if (artifact.type === 'cdk:cloud-assembly' && typeof properties.directoryName === 'string') {
        todo.push(path.join(dir, properties.directoryName));
      } else if (artifact.type === 'aws:cloudformation:stack' && typeof properties.templateFile === 'string') {
        const env = environmentOf(artifact.environment);
        const templates = [
          path.join(dir, properties.templateFile),
          ...nestedTemplates(dir, artifact.dependencies, artifacts),
        ];
        // Nested stacks: their templates are file assets of the assembly, named in the parent's resource metadata.
        for (let i = 0; i < templates.length; i++) {
          const template = readTemplateFile(templates[i]);
          found.push({ templatePath: templates[i], env, template });
          const resources = template.Resources;
          for (const resource of Object.values(isObject(resources) ? resources : {})) {
            const assetPath =
              isObject(resource) && isObject(resource.Metadata) ? resource.Metadata['aws:asset:path'] : undefined;
            const nested = typeof assetPath === 'string' ? path.join(dir, assetPath) : undefined;
            if (
              isObject(resource) &&
              resource.Type === 'AWS::CloudFormation::Stack' &&
              nested &&
              !templates.includes(nested)
            ) {
              templates.push(nested);
            }
          }
        }
      }
    }
  }
  return found;
}

/**
 * The nested stack templates among the file assets of a stack (its asset manifest), for assemblies written without
 * asset metadata in the templates.
 */
function nestedTemplates(dir: string, dependencies: Json | undefined, artifacts: JsonObject): string[] {
  const found: string[] = [];
  for (const id of Array.isArray(dependencies) ? dependencies : []) {
    const artifact = typeof id === 'string' ? artifacts[id] : undefined;
    if (!isObject(artifact) || artifact.type !== 'cdk:asset-manifest' || !isObject(artifact.properties)) continue;
    const file = artifact.properties.file;
    if (typeof file !== 'string') continue;
    let manifest: Json;
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf-8'));
    } catch {
      continue;
    }
    const files = isObject(manifest) && isObject(manifest.files) ? manifest.files : {};
    for (const asset of Object.values(files)) {
      const source = isObject(asset) && isObject(asset.source) ? asset.source.path : undefined;
      if (typeof source === 'string' && source.endsWith('.nested.template.json')) found.push(path.join(dir, source));
    }
  }
  return found;
}

/** `aws://<account>/<region>`, `unknown-account` and `unknown-region` as unknown. */
function environmentOf(value: Json | undefined): TemplateEnv {
  const match = typeof value === 'string' ? /^aws:\/\/([^/]*)\/(.*)$/.exec(value) : null;
  if (!match) return {};
  const account = match[1] === 'unknown-account' ? undefined : match[1];
  const region = match[2] === 'unknown-region' ? undefined : match[2];
  return { account, region, partition: region ? RegionInfo.get(region).partition : undefined };
}
