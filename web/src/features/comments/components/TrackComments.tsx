import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router-dom";

import { Button } from "@/components/Button";
import { Loading } from "@/components/Feedback";
import { TextAreaField } from "@/components/Field";
import { useCurrentUser } from "@/features/auth";
import { errorText, MAX_BODY_CHARS } from "@/features/chat";
import { formatTime, playbackPosition, playTracks, usePlayer, type PlayableTrack } from "@/features/player";

import { postComment, useTrackComments } from "../store";

/** Seek the player to `seconds` of the track, starting it there when another one is loaded. */
export function seekTrack(track: PlayableTrack, seconds: number): void {
  const s = usePlayer.getState();
  if (s.queue[s.index]?.track.id === track.id) s.seek(seconds);
  else playTracks([track], 0, seconds);
}

function Composer({ track }: { track: PlayableTrack }) {
  const { t, i18n } = useTranslation("comments");
  const user = useCurrentUser();
  const isCurrent = usePlayer((s) => s.queue[s.index]?.track.id === track.id);
  const playing = usePlayer((s) => s.playing && s.queue[s.index]?.track.id === track.id);
  const position = usePlayer((s) => (s.queue[s.index]?.track.id === track.id ? s.position : 0));
  const [body, setBody] = useState("");
  const [pinChoice, setPinChoice] = useState<boolean | null>(null);
  const [error, setError] = useState<string | undefined>();
  const pin = isCurrent && (pinChoice ?? playing);
  const length = [...body].length;
  const tooLong = length > MAX_BODY_CHARS;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = body.trim();
    if (!text) return setError(t("composer.empty"));
    if (tooLong) return setError(t("composer.tooLong", { max: MAX_BODY_CHARS }));
    const trackMs = pin ? Math.round(playbackPosition() * 1000) : null;
    setError(undefined);
    setBody("");
    setPinChoice(null);
    postComment(track.id, user ? { id: user.id, handle: user.handle } : null, text, trackMs).catch((e: unknown) =>
      setError(errorText(t, e, i18n.language)),
    );
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-2" noValidate>
      <TextAreaField
        label={t("composer.label")}
        value={body}
        rows={2}
        onChange={(e) => setBody(e.target.value)}
        error={error}
        hint={t("composer.count", { count: length, max: MAX_BODY_CHARS })}
      />
      <div className="flex flex-wrap items-center justify-between gap-2">
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            className="h-4 w-4 accent-violet-700"
            checked={pin}
            disabled={!isCurrent}
            onChange={(e) => setPinChoice(e.target.checked)}
          />
          {isCurrent ? t("composer.pin", { time: formatTime(position) }) : t("composer.pinNotPlaying")}
        </label>
        <Button type="submit" size="sm">
          {t("composer.post")}
        </Button>
      </div>
    </form>
  );
}

/** The comments of a track's room: the composer, then every comment, newest first. */
export function TrackComments({ track }: { track: PlayableTrack }) {
  const { t } = useTranslation("comments");
  const user = useCurrentUser();
  const { comments, status, error } = useTrackComments(track.id, !!user);
  const { i18n } = useTranslation();

  return (
    <section aria-labelledby="comments" className="flex flex-col gap-3">
      <h2 id="comments" className="text-xl font-semibold">
        {t("title")}
      </h2>
      {!user ? (
        <p className="text-zinc-700 dark:text-zinc-300">
          <Link to="/login" className="text-violet-700 underline dark:text-violet-300">
            {t("signIn")}
          </Link>{" "}
          {t("signInWhy")}
        </p>
      ) : (
        <>
          <Composer track={track} />
          {status === "loading" && comments.length === 0 ? <Loading label={t("loading")} /> : null}
          {status === "error" ? (
            <p role="alert" className="text-red-700 dark:text-red-400">
              {errorText(t, error, i18n.language)}
            </p>
          ) : null}
          {status === "ready" && comments.length === 0 ? <p className="text-zinc-600 dark:text-zinc-400">{t("none")}</p> : null}
          {comments.length > 0 ? (
            <ol className="flex flex-col gap-2">
              {[...comments].reverse().map((c) => (
                <li key={c.id} className="rounded-md border border-zinc-200 p-2 dark:border-zinc-800">
                  <p className="flex flex-wrap items-baseline gap-2 text-sm">
                    <span className="font-medium">@{c.author?.handle ?? "?"}</span>
                    {c.track_ms !== null ? (
                      <button
                        type="button"
                        className="tabular-nums text-violet-700 underline dark:text-violet-300"
                        aria-label={t("playFrom", { time: formatTime(c.track_ms / 1000) })}
                        onClick={() => seekTrack(track, c.track_ms! / 1000)}
                      >
                        {formatTime(c.track_ms / 1000)}
                      </button>
                    ) : null}
                    {c.status === "pending" ? <span className="text-zinc-600 dark:text-zinc-400">{t("pending")}</span> : null}
                    {c.status === "failed" ? <span className="text-red-700 dark:text-red-400">{t("failed")}</span> : null}
                  </p>
                  <p className="mt-1 whitespace-pre-line break-words">{c.body}</p>
                </li>
              ))}
            </ol>
          ) : null}
        </>
      )}
    </section>
  );
}
