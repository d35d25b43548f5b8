// The CRDs of the Inference Extension kinds infergate ships itself, generated from typed field descriptions.

export { CRD_KINDS, INFERENCE_MODEL, INFERENCE_MODEL_REWRITE, INFERENCE_OBJECTIVE } from './kinds';
export { crdName, crdsYaml, customResourceDefinition, customResourceDefinitions } from './generate';
export { toOpenAPI, type CrdKind, type Field, type Json, type PrinterColumn } from './schema';
