/**
 * YAML as serverless.yml, its included fragments and the ASL files are written: anchors and merge keys,
 * `${…}` serverless variables (kept as text) and CloudFormation's short-form tags.
 */
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

// CloudFormation short-form tags (`!Ref x`, `!GetAtt a.b`, `!Sub …`) read as their long form, so any
// CloudFormation that serverless.yml carries parses instead of failing.
const CFN_FUNCTIONS = [
  'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub',
  'Transform', 'And', 'Equals', 'If', 'Not', 'Or',
];

const intrinsicKey = (name: string): string => (name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`);

const cloudFormationTags = (): (ScalarTag | CollectionTag)[] =>
  ['Ref', 'Condition', ...CFN_FUNCTIONS].flatMap((name): (ScalarTag | CollectionTag)[] => {
    const key = intrinsicKey(name);
    return [
      {
        tag: `!${name}`,
        resolve: (value: string) => ({ [key]: name === 'GetAtt' ? value.split('.') : value }),
      },
      { tag: `!${name}`, collection: 'seq', resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() }) },
      { tag: `!${name}`, collection: 'map', resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() }) },
    ];
  });

/** Parses YAML that may hold anchors/merge keys, `${…}` serverless variables (kept as text) and CFN tags. */
export const parseInfraYaml = (source: string): unknown =>
  parse(source, { merge: true, customTags: cloudFormationTags(), logLevel: 'error', maxAliasCount: -1 });

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
