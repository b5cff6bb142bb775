// English strings. Field help comes from the recipe schema (`description`); labels of fields
// fall back to the schema's titles.
export default {
  "nav.label": "Screens", "nav.workspace": "Workspace", "nav.library": "Library", "nav.verify": "Verify",
  "nav.privacy": "Privacy", "nav.audit": "Audit",
  "lang.label": "Language", "lang.hint": "Switch the language of the studio",
  "yes": "yes", "no": "no",

  "ws.title": "Expose a negative", "ws.model": "Model", "ws.generate": "Generate", "ws.cancel": "Cancel",
  "ws.keys": "Ctrl+Enter generates, Esc cancels.", "ws.seedRandom": "Random", "ws.seedRandomLong": "Draw a random seed (-1)", "ws.seedReuse": "Reuse last", "ws.seedReuseLong": "Reuse the last seed",
  "ws.needPrompt": "Write a prompt first.", "ws.notInstalled": "not installed", "ws.bootFailed": "The studio could not start",

  "field.prompt": "Prompt", "field.negative_prompt": "Negative prompt", "field.seed": "Seed", "field.steps": "Steps",
  "field.cfg": "CFG scale", "field.sampler": "Sampler", "field.width": "Width", "field.height": "Height",
  "field.batch_size": "Batch size", "field.clip_skip": "Clip skip", "field.denoise": "Denoising strength",
  "field.scale": "Scale", "field.upscaler": "Upscaler", "field.mask_blur": "Mask blur", "field.mask_grow": "Mask grow",
  "field.masked_content": "Masked content", "field.inpaint_area": "Inpaint area", "field.padding": "Padding",
  "field.color_correction": "Colour correction", "field.left": "Left", "field.right": "Right", "field.top": "Top",
  "field.bottom": "Bottom", "field.overlap": "Overlap", "field.fill_noise": "Fill noise",
  "field.resize_width": "Resize width", "field.resize_height": "Resize height", "field.vae_tiling": "VAE tiling",
  "field.resize_mode": "Resize mode",

  "tok.count": "{n}/{max} tokens", "tok.chunk": "Chunk {i}: {n} of {max} tokens (ends: {end})",

  "pr.title": "Developing", "pr.xt": "x_t (noisy latent)", "pr.x0": "predicted x0", "pr.idle": "Idle.",
  "pr.queue": "Your queue", "pr.queued": "Queued…", "pr.started": "Started…",
  "pr.step": "Step {step}/{total} · {op} · picture {n}", "pr.done": "Done.", "pr.cancelled": "Cancelled.",
  "pr.failed": "Failed: {error}", "pr.cancelling": "Cancelling…", "pr.pictures": "{n} pictures",
  "pr.cancelJob": "Cancel the job of {when}",
  "state.queued": "queued", "state.running": "running", "state.done": "done", "state.failed": "failed",
  "state.cancelled": "cancelled", "state.interrupted": "interrupted",

  "cs.title": "Contact sheet", "cs.empty": "Generate a batch: its negatives appear here.",
  "cs.developing": "Negative {n}, developing", "cs.negative": "Negative {n}, seed {seed}",
  "cs.choose": "Develop negative {n} (seed {seed}) on the strip", "cs.seed": "seed",
  "cs.keep": "Keep", "cs.reject": "Reject", "cs.loupe": "Loupe",

  "lp.title": "Loupe", "lp.zoom": "Zoom", "lp.compare": "Compare with", "lp.none": "nothing",
  "lp.this": "this picture", "lp.other": "compared", "lp.mode": "View", "lp.side": "side by side", "lp.slider": "before / after slider", "lp.split": "Split",
  "dlg.close": "Close", "dlg.confirm": "Are you sure?", "dlg.yes": "Yes", "dlg.no": "No",

  "st.title": "Development strip", "st.steps": "Development steps", "st.addHires": "+ Hires",
  "st.addInpaint": "+ Inpaint", "st.addOutpaint": "+ Outpaint", "st.recipe": "Recipe JSON", "st.download": "Download",
  "st.empty": "Choose a negative on the contact sheet to develop it.", "st.noRecipe": "This picture carries no recipe.",
  "st.thumb": "Picture after {op}", "st.loupe": "Open the picture after {op} in the loupe", "st.edit": "Change…",
  "st.redevelop": "Re-develop from here", "st.develop": "Develop", "st.draft": "new", "st.remove": "Remove",
  "st.developing": "Developing…",
  "op.generate": "Raw negative", "op.hires": "Hires fix", "op.img2img": "img2img", "op.inpaint": "Inpaint",
  "op.outpaint": "Outpaint",

  "mask.tools": "Mask tools", "mask.brush": "Brush", "mask.eraser": "Eraser", "mask.box": "Box", "mask.ellipse": "Ellipse",
  "mask.size": "Size", "mask.hardness": "Hardness", "mask.invert": "Invert", "mask.showBlur": "Preview blur", "mask.clear": "Clear",
  "mask.canvas": "Mask: paint the zone to repaint", "mask.empty": "Paint a mask first: nothing is marked to repaint.",

  "lib.filter": "Filter", "lib.project": "Project", "lib.model": "Model", "lib.prompt": "Prompt contains",
  "lib.since": "Since", "lib.kept": "Kept only", "lib.apply": "Show", "lib.pictures": "Pictures",
  "lib.details": "Details", "lib.download": "Download PNG", "lib.develop": "Develop in the workspace",
  "lib.provenance": "Provenance", "lib.lineage": "Lineage", "lib.infotext": "Infotext", "lib.recipe": "Recipe",
  "lib.none": "No pictures.", "lib.open": "Details of {op}: {prompt}", "lib.lineageItem": "Step {n}: {sha}",

  "vf.title": "Verify a picture", "vf.drop": "Drop a picture to verify",
  "vf.hint": "Drop a picture here, or choose a file: its marks and provenance are checked.",
  "vf.file": "Picture file", "vf.ok": "Provenance intact", "vf.verdict": "Verdict", "vf.marked": "Marked as AI-generated",
  "vf.c2pa": "C2PA manifest",

  "pv.title": "Privacy", "pv.retention": "Retention", "pv.project": "Project", "pv.dry": "Show what has expired",
  "pv.run": "Delete expired", "pv.erase": "Erase", "pv.eraseWhat": "Project, or picture sha256:", "pv.erasePlan": "Erase…",
  "pv.expired": "{n} pictures have expired ({bytes} bytes).", "pv.deleted": "{n} expired pictures deleted ({bytes} bytes freed).",
  "pv.confirmRetention": "Delete every expired picture now?", "pv.confirmErase": "Erase {target} for good? This is what goes:",
  "pv.erased": "Erased.",

  "au.title": "Audit log", "au.refresh": "Verify and show", "au.index": "#", "au.time": "Time", "au.kind": "Event",
  "au.subject": "Subject", "au.ok": "The chain is intact ({n} entries).", "au.broken": "The chain is broken: {message}",
  "au.admin": "The audit log is for admins.",

  "si.title": "Sign in", "si.hint": "This studio needs a token (`darkroom users add NAME` issues one).",
  "si.token": "Token", "si.submit": "Sign in", "si.wrong": "This token is not valid.", "si.signedIn": "Signed in",
};
