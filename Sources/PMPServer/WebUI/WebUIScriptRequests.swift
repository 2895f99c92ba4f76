/// Talking to endpoints: their base URLs, the token, and requests with a time limit whose failures read well.
enum WebUIScriptRequests {
    static let source = #"""
        const TOKEN_KEY = "swift-pmp.token";

        /// `host:port` (http) or a full `http(s)://host:port` URL, without a trailing slash.
        function baseURL(name) {
          const text = /^https?:\/\//i.test(name) ? name : "http://" + name;
          return text.replace(/\/+$/, "");
        }

        class EndpointError extends Error {
          constructor(message, status) { super(message); this.status = status || 0; }
        }

        /// The body of `method path` on `host` as text. Throws an EndpointError saying what went wrong: the
        /// endpoint's own message for an HTTP error, or why there was no answer at all.
        async function request(host, path, options) {
          const { method = "GET", body, timeout = 10000 } = options || {};
          const headers = {};
          if (state.token) headers["Authorization"] = "Bearer " + state.token;
          if (body !== undefined) headers["Content-Type"] = "application/json";
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), timeout);
          let response;
          try {
            response = await fetch(host.base + path, { method, headers, body, signal: controller.signal,
                                                        cache: "no-store", credentials: "omit", mode: "cors" });
          } catch (error) {
            clearTimeout(timer);
            if (error.name === "AbortError") throw new EndpointError("no answer within " + timeout / 1000 + " s");
            throw new EndpointError("unreachable: the connection failed (down, wrong address, or not serving swift-pmp)");
          }
          let text;
          try {
            text = await response.text();
          } catch (error) {
            throw new EndpointError("the answer was cut off: " + error.message);
          } finally {
            clearTimeout(timer);
          }
          if (!response.ok) {
            let message = text.trim();
            try { message = JSON.parse(text).error || message; } catch (error) { /* not JSON: the text itself */ }
            throw new EndpointError("HTTP " + response.status + (message ? ": " + message : ""), response.status);
          }
          return text;
        }

        async function requestJSON(host, path, options) {
          const text = await request(host, path, options);
          try {
            return JSON.parse(text);
          } catch (error) {
            throw new EndpointError("the answer to " + path + " is not JSON");
          }
        }

        function describeError(error) {
          return error instanceof EndpointError ? error.message : String(error && error.message || error);
        }

        // ---- the token: typed in the page or passed once as ?token=…, kept for this tab only

        function loadToken() {
          const query = new URLSearchParams(location.search);
          if (query.has("token")) {
            try { sessionStorage.setItem(TOKEN_KEY, query.get("token")); } catch (error) { /* storage off */ }
            state.token = query.get("token");
            query.delete("token");
            // The token should not stay in the address bar, the history or a copied link.
            const rest = query.toString();
            history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
            return;
          }
          try { state.token = sessionStorage.getItem(TOKEN_KEY) || ""; } catch (error) { state.token = ""; }
        }

        function setToken(token) {
          state.token = token;
          try {
            if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
          } catch (error) { /* storage off: the token lasts until the page is left */ }
          renderTokenButton();
        }

        function renderTokenButton() {
          const button = byId("token-button");
          button.textContent = state.token ? "Token ✓" : "Token";
          button.classList.toggle("has-token", !!state.token);
        }

        function setUpTokenDialog() {
          const dialog = byId("token-dialog");
          byId("token-button").addEventListener("click", () => {
            byId("token-input").value = state.token;
            dialog.showModal();
            byId("token-input").focus();
          });
          byId("token-form").addEventListener("submit", (event) => {
            event.preventDefault();
            setToken(byId("token-input").value.trim());
            dialog.close();
            for (const host of state.hosts) resetHost(host);
            pollNow();
          });
          byId("token-clear").addEventListener("click", () => {
            byId("token-input").value = "";
            setToken("");
            dialog.close();
            pollNow();
          });
          byId("token-close").addEventListener("click", () => dialog.close());
        }

        """#
}
