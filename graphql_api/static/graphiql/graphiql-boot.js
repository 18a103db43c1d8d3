/* The GraphiQL page's own code (no inline script: the page's CSP allows only this origin's
 * files). It starts GraphiQL on this endpoint and runs the sign-in panel: `login` and `logout`
 * on this domain, the bearer token put into GraphiQL's Headers tab and kept in this page's
 * memory only. GraphiQL is told not to persist headers, and its storage (tabs, history) goes
 * through headerlessStorage, so no header is written to localStorage. */
(function () {
  "use strict";

  var panel = document.getElementById("signin");
  var form = document.getElementById("signin-form");
  var email = document.getElementById("signin-email");
  var password = document.getElementById("signin-password");
  var submit = document.getElementById("signin-submit");
  var signOut = document.getElementById("signout");
  var status = document.getElementById("signin-status");
  var texts = panel.dataset;
  var endpoint = texts.endpoint;
  var token = null; // in memory only
  var headers = "";

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var fetcher = GraphiQL.createFetcher({ url: endpoint });

  // GraphiQL 3 keeps each run's headers in its history (`graphiql:queries`) even when it is
  // told not to persist headers. Its storage is this localStorage wrapper instead: every
  // `headers` field is dropped from what it writes, and the headers themselves never stored.
  var HEADERS_KEY = "graphiql:headers";
  function withoutHeaders(value) {
    try {
      return JSON.stringify(JSON.parse(value), function (key, field) {
        return key === "headers" ? undefined : field;
      });
    } catch (error) {
      return value; // not JSON ("true", a theme name): nothing to drop
    }
  }
  var headerlessStorage = {
    getItem: function (key) {
      return key === HEADERS_KEY ? null : localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (key === HEADERS_KEY) localStorage.removeItem(key);
      else localStorage.setItem(key, withoutHeaders(value));
    },
    removeItem: function (key) {
      localStorage.removeItem(key);
    },
    clear: function () {
      localStorage.clear();
    },
    get length() {
      return localStorage.length;
    },
  };

  function render() {
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        storage: headerlessStorage,
        defaultQuery: texts.defaultQuery,
        headers: headers,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
        defaultEditorToolsVisibility: "headers",
      }),
    );
  }

  function show(message, isError) {
    status.textContent = message;
    status.classList.toggle("signin-error", Boolean(isError));
  }

  async function call(query, variables, bearer) {
    var requestHeaders = { "Content-Type": "application/json", Accept: "application/json" };
    if (bearer) requestHeaders.Authorization = "Bearer " + bearer;
    var response = await fetch(endpoint, {
      method: "POST",
      headers: requestHeaders,
      body: JSON.stringify({ query: query, variables: variables }),
      credentials: "omit",
      cache: "no-store",
    });
    return response.json();
  }

  // The API's own message: an OperationInfo's (wrong password, inactive user…) or a
  // refused request's (too many attempts, unknown clinic…).
  function apiMessage(body, field) {
    var result = body && body.data && body.data[field];
    if (result && result.messages && result.messages.length) return result.messages[0].message;
    if (body && body.errors && body.errors.length) return body.errors[0].message;
    if (body && body.error && body.error.message) return body.error.message;
    return null;
  }

  function setSignedIn(newToken, who) {
    token = newToken;
    headers = token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : "";
    email.disabled = password.disabled = submit.disabled = Boolean(token);
    submit.hidden = Boolean(token);
    signOut.hidden = !token;
    password.value = "";
    render();
    show(token ? texts.msgSignedIn.replace("{email}", who) : texts.msgSignedOut, false);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    submit.disabled = true;
    show(texts.msgSigningIn, false);
    try {
      var body = await call(
        "mutation SignIn($email: String!, $password: String!) {" +
          " login(email: $email, password: $password) {" +
          " __typename ... on AuthToken { token }" +
          " ... on OperationInfo { messages { code message } } } }",
        { email: email.value, password: password.value },
        null,
      );
      var login = body && body.data && body.data.login;
      if (login && login.__typename === "AuthToken") {
        setSignedIn(login.token, email.value);
        return;
      }
      show(apiMessage(body, "login") || texts.msgFailed, true);
    } catch (error) {
      show(texts.msgUnreachable, true);
    }
    submit.disabled = false;
  });

  signOut.addEventListener("click", async function () {
    var revoked = token;
    setSignedIn(null, "");
    try {
      await call("mutation SignOut { logout }", {}, revoked);
    } catch (error) {
      show(texts.msgUnreachable, true);
    }
  });

  render();
})();
