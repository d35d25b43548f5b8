// Loaded into every test file (jest setupFilesAfterEnv). Root-level hooks run after every describe block's own
// afterAll, so the processes a suite stopped there no longer use the directories removed here.
import { removeTmpDirs } from './tmp';

afterAll(removeTmpDirs);
