/** The mount list containerd's erofs snapshotter returns for an active snapshot (format/, mkdir/ transforms). */
import type { Mount } from "../../src/plan/mount-request.ts";

export function snapshotList(rwImage: string, layerImage: string, layerType = "erofs"): Mount[] {
  return [
    { type: "ext4", source: rwImage, options: ["rw", "loop"] },
    { type: layerType, source: layerImage, options: ["ro", "loop"] },
    {
      type: "format/mkdir/overlay",
      source: "overlay",
      options: [
        "X-containerd.mkdir.path={{ mount 0 }}/upper:0755",
        "X-containerd.mkdir.path={{ mount 0 }}/work:0755",
        "workdir={{ mount 0 }}/work",
        "upperdir={{ mount 0 }}/upper",
        "lowerdir={{ mount 1 }}",
      ],
    },
  ];
}
