// Console upload page: every dropped or chosen file gets a direct upload from POST /console/uploads
// (CSRF header) and is sent in chunks by @mux/upchunk (window.UpChunk), with progress and cancel.
(function () {
  "use strict";
  var zone = document.getElementById("drop-zone");
  var input = document.getElementById("files");
  var list = document.getElementById("upload-list");
  var msg = JSON.parse(zone.dataset.messages);
  window.vidlakeUploads = [];

  function start(file) {
    var item = document.createElement("li");
    var name = document.createElement("span");
    var bar = document.createElement("progress");
    var state = document.createElement("span");
    var cancel = document.createElement("button");
    name.textContent = file.name + " ";
    bar.max = 100; bar.value = 0;
    state.className = "state";
    cancel.type = "button"; cancel.textContent = msg.cancel; cancel.className = "cancel";
    item.append(name, bar, " ", state, " ", cancel);
    list.appendChild(item);
    var record = {name: file.name, state: "starting", progress: 0, upload_id: null};
    window.vidlakeUploads.push(record);
    fetch("/console/uploads", {method: "POST", credentials: "same-origin",
                               headers: {"X-CSRF-Token": zone.dataset.csrf}})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (up) {
        record.upload_id = up.id; record.state = "uploading";
        var chunk = window.UpChunk.createUpload({endpoint: up.url, file: file,
                                                 chunkSize: Number(zone.dataset.chunkKib)});
        cancel.onclick = function () {
          chunk.abort(); record.state = "cancelled"; state.textContent = msg.cancelled; cancel.disabled = true;
        };
        chunk.on("progress", function (e) { record.progress = e.detail; bar.value = e.detail; });
        chunk.on("success", function () {
          record.state = "uploaded"; bar.value = 100; state.textContent = msg.uploaded; cancel.disabled = true;
        });
        chunk.on("error", function (e) {
          record.state = "failed"; state.textContent = msg.failed + ": " + (e.detail && e.detail.message || "");
        });
      })
      .catch(function (e) { record.state = "failed"; state.textContent = msg.failed + ": " + e.message; });
  }

  function startAll(files) { for (var i = 0; i < files.length; i++) { start(files[i]); } }
  input.addEventListener("change", function () { startAll(input.files); input.value = ""; });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault(); zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files) { startAll(e.dataTransfer.files); }
  });
}());
