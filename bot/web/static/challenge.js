// The sign-up form's anti-abuse check (bot/web/challenge.py): ALTCHA's proof of work.
//
// Served by this site and asking only this site (GET /challenge): no third party learns who
// visits. On submit, the browser fetches a puzzle, finds the number n with
// SHA-256(salt + n) = challenge, puts the solution in the form's hidden field and sends the
// form. The search runs in a Web Worker (this same file), so the page stays responsive; where
// a worker cannot start, it runs here between other work (each hash is awaited).
"use strict";

(function () {
  async function hex(text) {
    const bytes = new TextEncoder().encode(text);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The number that solves the puzzle, or null if none up to maxnumber does.
  async function solve(puzzle) {
    for (let number = 0; number <= puzzle.maxnumber; number += 1) {
      if ((await hex(puzzle.salt + number)) === puzzle.challenge) {
        return number;
      }
    }
    return null;
  }

  if (typeof document === "undefined") {
    // In the worker: one puzzle in, its number out.
    self.onmessage = async (event) => {
      self.postMessage(await solve(event.data));
    };
    return;
  }

  const script = document.currentScript ? document.currentScript.src : "/static/challenge.js";
  const form = document.querySelector("form[data-challenge]");
  if (!form) {
    return;
  }
  const field = form.querySelector('input[name="challenge"]');
  const button = form.querySelector('button[type="submit"]');
  const status = form.querySelector("[data-challenge-status]");
  let busy = false;

  function inWorker(puzzle) {
    return new Promise((resolve) => {
      let worker;
      try {
        worker = new Worker(script);
      } catch (error) {
        resolve(solve(puzzle));
        return;
      }
      worker.onmessage = (event) => {
        worker.terminate();
        resolve(event.data);
      };
      worker.onerror = () => {
        worker.terminate();
        resolve(solve(puzzle));
      };
      worker.postMessage(puzzle);
    });
  }

  function say(text) {
    if (status) {
      status.textContent = text || "";
    }
  }

  // A page restored from the back-forward cache must not send a solution already used.
  window.addEventListener("pageshow", () => {
    field.value = "";
    busy = false;
    button.disabled = false;
  });

  form.addEventListener("submit", async (event) => {
    if (field.value) {
      return; // solved: the form goes as it is
    }
    event.preventDefault();
    if (busy) {
      return;
    }
    busy = true;
    button.disabled = true;
    say(form.dataset.working);
    try {
      const answer = await fetch(form.dataset.challenge, {
        cache: "no-store",
        credentials: "same-origin",
      });
      if (!answer.ok) {
        throw new Error("no puzzle");
      }
      const puzzle = await answer.json();
      const number = await inWorker(puzzle);
      if (number === null) {
        throw new Error("no solution");
      }
      field.value = btoa(
        JSON.stringify({
          algorithm: puzzle.algorithm,
          challenge: puzzle.challenge,
          number: number,
          salt: puzzle.salt,
          signature: puzzle.signature,
        }),
      );
      say("");
      // submit() sends the form without a second submit event (the fields were checked).
      form.submit();
    } catch (error) {
      say(form.dataset.failed);
      busy = false;
      button.disabled = false;
    }
  });
})();
