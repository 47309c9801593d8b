import { ApiError, el, postJson } from "./console.js";

const form = document.getElementById("signin");
const error = document.getElementById("error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const data = new FormData(form);
  const button = document.getElementById("submit");
  button.disabled = true;
  try {
    const answer = await postJson("/console/signin", {
      user: data.get("user"), password: data.get("password"), totp: data.get("totp"),
    });
    window.location.assign(answer.next);
  } catch (e) {
    error.append(el("span", {}, e instanceof ApiError ? e.message : `cannot sign in: ${e}`));
    document.getElementById("totp").value = "";
  } finally {
    button.disabled = false;
  }
});
