// A drop zone with a file input inside: a file dropped on it, or chosen, goes to `onFile`.
export function dropZone(drop, input, onFile) {
  drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", e => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) onFile(e.dataTransfer.files[0]);
  });
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = ""; // the same file chosen again is a new choice
    if (file) onFile(file);
  });
}
