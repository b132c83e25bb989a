import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import { onTrackEvent } from "@/features/socket";

import { libraryKeys } from "../api/library";

/** When the pipeline finishes (or fails) one of my tracks, the pages showing it read it again. */
export function useLiveTracks(): void {
  const queryClient = useQueryClient();
  useEffect(
    () =>
      onTrackEvent((event) => {
        if (event.type === "track.progress") return;
        void queryClient.invalidateQueries({ queryKey: libraryKeys.tracks() });
        void queryClient.invalidateQueries({ queryKey: libraryKeys.analysis(event.track_id) });
      }),
    [queryClient],
  );
}
