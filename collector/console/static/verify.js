// The bundle goes to the collector as it is (POST /console/verify); the answer is the verifier's
// report and the text `chronolog verify-export` prints.
import { request, setStatus } from "./console.js";

const VERDICTS = {
  intact: "Intact: every record is the one exported, in its place, and proved against a signed checkpoint.",
  unproven: "Intact, but some records could not be proved one by one (listed below).",
  findings: "Not intact: each finding is named below.",
};

document.getElementById("verify").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = document.getElementById("bundle").files[0];
  if (!file) return;
  const verdict = document.getElementById("verdict");
  const report = document.getElementById("report");
  verdict.hidden = report.hidden = true;
  setStatus(`checking ${file.name} (${file.size.toLocaleString()} bytes)…`);
  try {
    const answer = await (await request("POST", "/console/verify", {
      body: file, headers: { "Content-Type": "application/octet-stream", "X-Chronolog-File-Name": file.name },
    })).json();
    verdict.textContent = VERDICTS[answer.verdict];
    verdict.className = `verdict ${answer.verdict}`;
    verdict.dataset.verdict = answer.verdict;
    report.textContent = answer.text;
    verdict.hidden = report.hidden = false;
    setStatus("");
  } catch (err) {
    setStatus(`cannot check the bundle: ${err.message}`, "error");
  }
});
