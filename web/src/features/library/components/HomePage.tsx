import { useTranslation } from "react-i18next";

import { Button } from "@/components/Button";
import { ErrorMessage, Loading } from "@/components/Feedback";
import { useTitle } from "@/lib/useTitle";

import { useNewest } from "../hooks/useLibrary";
import { usePlay } from "../hooks/usePlay";
import { TrackList } from "./bits";

// Apart from the other pages (pages.tsx): the home page is in the first download, they are not.
const page = "flex flex-col gap-4 p-4 sm:p-8";

export function HomePage() {
  const { t } = useTranslation("library");
  useTitle(t("home.title"));
  const newest = useNewest();
  const play = usePlay();
  const tracks = newest.data?.items ?? [];
  return (
    <section className={page}>
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-2xl font-semibold">{t("home.title")}</h1>
          <p className="text-zinc-600 dark:text-zinc-400">{t("home.subtitle")}</p>
        </div>
        {play && tracks.length > 0 ? <Button onClick={() => play(tracks, 0)}>{t("playAll")}</Button> : null}
      </div>
      {newest.isPending ? <Loading /> : null}
      <ErrorMessage error={newest.error} />
      {newest.data ? <TrackList tracks={tracks} empty={t("home.empty")} /> : null}
    </section>
  );
}
