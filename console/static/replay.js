// Call replay: a turn seeks the call recording (or plays its own keypad recording), the turn being
// heard is highlighted and kept in view, and the transcript answers to Enter, space, j and k.
(() => {
  "use strict";
  const transcript = document.getElementById("transcript");
  if (!transcript) return;
  const turns = Array.from(transcript.querySelectorAll(".turn"));
  const audios = Array.from(document.querySelectorAll("audio[data-recording-id]"));
  const timeline = document.querySelector("audio[data-timeline]");
  // Turns placed in the call recording, by start: turn i is heard during [start i, start i+1).
  const timed = turns
    .map((el) => ({ el, start: parseFloat(el.dataset.start) }))
    .filter((turn) => Number.isFinite(turn.start))
    .sort((a, b) => a.start - b.start);
  let current = document.getElementById("player") || audios[0] || null;
  let playing = null;

  function mark(turn) {
    if (turn === playing) return;
    if (playing) {
      playing.classList.remove("playing");
      playing.removeAttribute("aria-current");
    }
    playing = turn;
    if (turn) {
      turn.classList.add("playing");
      turn.setAttribute("aria-current", "true");
      turn.scrollIntoView({ block: "nearest" });
    }
  }

  function turnAt(seconds) {
    let found = null;
    for (const turn of timed) {
      if (turn.start > seconds) break;
      found = turn.el;
    }
    return found;
  }

  function play(audio, seconds) {
    current = audio;
    audio.currentTime = seconds;
    const started = audio.play();
    if (started) started.catch(() => {}); // refused (no user gesture yet): the controls still work
  }

  function ownRecording(turn) {
    const id = turn.dataset.recordingId;
    return audios.find((audio) => audio !== timeline && audio.dataset.recordingId === id) || null;
  }

  function activate(turn, seconds) {
    const own = turn.dataset.recordingId ? ownRecording(turn) : null;
    if (own) {
      play(own, 0);
      mark(turn);
    } else if (timeline && turn.dataset.start !== undefined) {
      play(timeline, seconds !== undefined ? seconds : parseFloat(turn.dataset.start));
      mark(turn);
    }
  }

  function step(from, by) {
    const index = turns.indexOf(from) + by;
    const next = turns[Math.max(0, Math.min(turns.length - 1, index))];
    if (!next) return;
    next.focus();
    if (current && !current.paused) activate(next);
  }

  for (const audio of audios) {
    audio.addEventListener("play", () => {
      current = audio;
      for (const other of audios) if (other !== audio) other.pause();
      if (audio !== timeline) mark(turns.find((turn) => turn.dataset.recordingId === audio.dataset.recordingId) || null);
    });
  }
  if (timeline) {
    const follow = () => { if (current === timeline) mark(turnAt(timeline.currentTime)); };
    timeline.addEventListener("timeupdate", follow);
    timeline.addEventListener("seeked", follow);
  }

  transcript.addEventListener("click", (event) => {
    const turn = event.target.closest(".turn");
    if (!turn) return;
    const word = event.target.closest(".word[data-start]");
    activate(turn, word && timeline ? parseFloat(word.dataset.start) : undefined);
  });

  transcript.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const turn = event.target.closest(".turn");
    if (event.key === "Enter" && turn) {
      activate(turn);
    } else if (event.key === " " && current) {
      if (current.paused) current.play().catch(() => {}); else current.pause();
    } else if ((event.key === "j" || event.key === "k") && turns.length) {
      step(turn || playing || turns[0], event.key === "j" ? 1 : -1);
    } else {
      return;
    }
    event.preventDefault();
  });
})();
