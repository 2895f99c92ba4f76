/// The flame graph of a fresh profile of one endpoint: `GET /profile?format=svg` (the server's own flame graph,
/// drawn and titled there) placed inline in the page, so that it scales to the window and its frames are part
/// of the document; its zoom script, which the browser does not run when an SVG is parsed apart, is started
/// again as a script of the page. Recorded when the view opens or the endpoint changes, on "Record", and over
/// and over with "keep recording".
enum WebUIScriptFlameGraph {
    static let source = #"""
        let flameRecording = null;  // { host, seconds, startedAt } while a profile is taken
        let flameShown = null;      // { host, seconds, hz, at } of the graph on screen
        let flameError = "";
        let flameRepeatTimer = 0;
        let flameAutoHost = "";     // the endpoint last recorded on opening the view (not again until it changes)

        function setSelectValue(select, value, label) {
          const text = String(value);
          if (![...select.options].some((option) => option.value === text)) {
            select.append(el("option", { value: text, text: label }));
          }
          select.value = text;
        }

        function renderFlameControls() {
          const flame = state.flame;
          const select = byId("flame-host");
          const names = enabledHosts().map((host) => host.name);
          if ([...select.options].map((option) => option.value).join("\n") !== names.join("\n")) {
            select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
          }
          if (!names.includes(flame.host)) flame.host = names[0] || "";
          select.value = flame.host;
          setSelectValue(byId("flame-seconds"), flame.seconds, flame.seconds + " s");
          setSelectValue(byId("flame-hz"), flame.hz, flame.hz + " Hz");
          byId("flame-state").checked = flame.byState;
          byId("flame-registered").checked = flame.registered;
          byId("flame-repeat").checked = flame.repeat;
          byId("flame-record").disabled = !!flameRecording || !flame.host;
          renderFlameStatus();
        }

        function renderFlameStatus() {
          const status = byId("flame-status");
          status.classList.toggle("error", !flameRecording && !!flameError);
          if (flameRecording) {
            const progress = el("div", { class: "progress" }, el("span"));
            status.replaceChildren("Recording " + flameRecording.seconds + " s on ",
                                   el("span", { class: "mono", text: flameRecording.host }), "…", progress);
            // The bar fills over the profile's length, from the time it started.
            const elapsed = (Date.now() - flameRecording.startedAt) / 1000;
            const bar = progress.firstChild;
            bar.style.width = Math.min(100, 100 * elapsed / flameRecording.seconds) + "%";
            const remaining = Math.max(0, flameRecording.seconds - elapsed);
            setTimeout(() => { bar.style.transition = "width " + remaining + "s linear"; bar.style.width = "100%"; }, 20);
          } else if (flameError) {
            status.replaceChildren("No profile: " + flameError);
          } else if (flameShown) {
            status.replaceChildren("Profile of ", el("span", { class: "mono", text: flameShown.host }),
              ": " + flameShown.seconds + " s at " + flameShown.hz + " Hz, recorded at " + formatClock(flameShown.at)
              + ". Hover a frame for its share; click it to zoom, click the bottom bar to zoom out.");
          } else {
            status.replaceChildren(state.flame.host ? "" : "No endpoint to profile.");
          }
          byId("flame-record").disabled = !!flameRecording || !state.flame.host;
        }

        async function recordProfile() {
          clearTimeout(flameRepeatTimer);
          const flame = state.flame;
          const host = hostNamed(flame.host);
          if (!host || !host.enabled || flameRecording) return;
          const seconds = flame.seconds;
          const hz = flame.hz;
          const path = "/profile?format=svg&seconds=" + seconds + "&hz=" + hz + (flame.byState ? "&state=1" : "")
            + (flame.registered ? "&threads=registered" : "");
          flameRecording = { host: host.name, seconds, startedAt: Date.now() };
          flameError = "";
          renderFlameStatus();
          let failed = false;
          try {
            const svg = await request(host, path, { timeout: (seconds + 20) * 1000 });
            showFlameGraph(svg);
            flameShown = { host: host.name, seconds, hz, at: Date.now() };
          } catch (error) {
            failed = true;
            flameError = describeError(error);
          } finally {
            flameRecording = null;
            renderFlameStatus();
          }
          if (state.flame.repeat && state.view === "flame" && !failed) {
            flameRepeatTimer = setTimeout(recordProfile, 1000);
          }
        }

        /// Puts the server's SVG into the page and starts its script again (scripts parsed apart never run).
        function showFlameGraph(text) {
          const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
          const root = parsed.documentElement;
          if (!root || root.localName !== "svg" || parsed.getElementsByTagName("parsererror").length) {
            throw new Error("the profile is not an SVG image");
          }
          const svg = document.importNode(root, true);
          const scripts = [...svg.getElementsByTagName("script")];
          for (const script of scripts) script.remove();
          svg.removeAttribute("height");
          svg.setAttribute("width", "100%");
          svg.setAttribute("class", "flame");
          byId("flame-graph").replaceChildren(svg);
          for (const script of scripts) {
            const running = document.createElementNS(SVG_NS, "script");
            running.textContent = script.textContent;
            svg.append(running);
          }
        }

        /// On opening the view, or choosing another endpoint: a graph of that endpoint, unless one is on screen.
        function maybeRecordOnOpen() {
          if (state.view !== "flame") { flameAutoHost = ""; clearTimeout(flameRepeatTimer); return; }
          renderFlameControls();
          const hostName = state.flame.host;
          if (!hostName || flameRecording || flameAutoHost === hostName) return;
          flameAutoHost = hostName;
          if (!flameShown || flameShown.host !== hostName) recordProfile();
        }

        function setUpFlameControls() {
          const flame = state.flame;
          byId("flame-controls").addEventListener("submit", (event) => {
            event.preventDefault();
            recordProfile();
          });
          byId("flame-host").addEventListener("change", (event) => {
            flame.host = event.target.value;
            saveFragment();
            maybeRecordOnOpen();
          });
          byId("flame-seconds").addEventListener("change", (event) => { flame.seconds = Number(event.target.value); saveFragment(); });
          byId("flame-hz").addEventListener("change", (event) => { flame.hz = Number(event.target.value); saveFragment(); });
          byId("flame-state").addEventListener("change", (event) => { flame.byState = event.target.checked; saveFragment(); });
          byId("flame-registered").addEventListener("change", (event) => {
            flame.registered = event.target.checked;
            saveFragment();
          });
          byId("flame-repeat").addEventListener("change", (event) => {
            flame.repeat = event.target.checked;
            if (flame.repeat) recordProfile(); else clearTimeout(flameRepeatTimer);
          });
        }

        """#
}
