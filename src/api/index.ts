// Public API of src/api: typed resource models, loading, validation and v1alpha2 → v1 conversion.

export * from './types';
export { loadPaths, parseText, type LoadResult } from './load';
export { validateResource, resourceName, isClusterScoped, type ValidateResult } from './validate';
export { durationMillis } from './formats';
