// Where pool resources come from: the shared ResourceSource (src/sources), so the EPP rejects a bad resource
// alone and keeps its last good version exactly as the control plane does; a Kubernetes source will implement
// the same interface.

import { FileSource } from '../../sources/file-source';
import type { ResourceSource } from '../../sources/source';

export type PoolSource = ResourceSource;

/** The EPP's file source: the control plane's FileSource under the name the EPP has always used. */
export class FilePoolSource extends FileSource {}
