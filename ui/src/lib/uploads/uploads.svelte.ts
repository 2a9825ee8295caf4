// Test uploads: the items prepared from dropped files, and the uploads being followed.

import type { TestItem, TestUpload } from "../../ipc";

export const uploads = $state({
  items: [] as TestItem[],
  /** The latest upload per preview id. */
  byPreview: {} as Record<string, TestUpload>,
});

export function applyUploads(updates: Map<string, TestUpload>): void {
  for (const upload of updates.values()) uploads.byPreview[upload.previewId] = upload;
}
