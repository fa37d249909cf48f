// The live parts of the console's pages, written here (no framework, no build step):
// regions marked data-live are re-read from the console every few seconds and replaced
// when they changed; countdowns to a due time tick every second. Without this script
// every page still works: it shows what was true when it was loaded.

const refreshMs = Math.max(1, Number(document.body.dataset.refresh || 5)) * 1000;
const shown = new WeakMap();

function clock(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  return `${hours}:${String(minutes).padStart(2, "0")}:${String(secs).padStart(2, "0")}`;
}

function tick() {
  const now = Date.now();
  for (const element of document.querySelectorAll("time.countdown[data-due]")) {
    const due = Date.parse(element.dataset.due);
    if (Number.isNaN(due)) continue;
    const seconds = Math.trunc((due - now) / 1000);
    const overdue = seconds < 0;
    const words = overdue ? element.dataset.over : element.dataset.left;
    element.textContent = words.replace("%(time)s", clock(Math.abs(seconds)));
    element.classList.toggle("overdue", overdue);
  }
}

async function reread(region) {
  let response;
  try {
    response = await fetch(region.dataset.live, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    });
  } catch {
    return; // the console is restarting or the network blinked: try again next round
  }
  if (!response.headers.has("X-Console-Fragment")) {
    // Signed out meanwhile (the answer is the sign-in page): show it.
    if (response.redirected || response.status === 401 || response.status === 403) {
      window.location.reload();
    }
    return;
  }
  const html = await response.text();
  if (shown.get(region) === html) return;
  shown.set(region, html);
  const focused = document.activeElement;
  const keep = focused && region.contains(focused) ? focused.getAttribute("href") : null;
  region.innerHTML = html;
  if (keep) region.querySelector(`[href="${CSS.escape(keep)}"]`)?.focus();
  tick();
}

function live() {
  const regions = [...document.querySelectorAll("[data-live]")];
  if (regions.length === 0) return;
  const round = async () => {
    if (!document.hidden) await Promise.all(regions.map(reread));
    window.setTimeout(round, refreshMs);
  };
  window.setTimeout(round, refreshMs);
}

// The building list shows the buildings of the chosen project only.
function buildingPicker() {
  for (const project of document.querySelectorAll("select[data-buildings-for]")) {
    const buildings = document.getElementById(project.dataset.buildingsFor);
    if (!buildings) continue;
    const filter = () => {
      for (const group of buildings.querySelectorAll("optgroup[data-project]")) {
        const mine = group.dataset.project === project.value;
        group.hidden = !mine;
        group.disabled = !mine;
      }
      const chosen = buildings.selectedOptions[0];
      if (chosen && chosen.parentElement.disabled) buildings.value = "";
    };
    project.addEventListener("change", filter);
    filter();
  }
}

// The unit field offers the units the chosen building registers (its datalist), and
// stays a plain text field for a building that registers none.
function unitPicker() {
  for (const unit of document.querySelectorAll("input[data-units-of]")) {
    const [project, building] = unit.dataset.unitsOf.split(" ").map((id) => document.getElementById(id));
    if (!project || !building) continue;
    const follow = () => {
      const list = document.getElementById(`units-${project.value}-${building.value}`);
      if (building.value && list) unit.setAttribute("list", list.id);
      else unit.removeAttribute("list");
    };
    project.addEventListener("change", follow);
    building.addEventListener("change", follow);
    follow();
  }
}

// Enter in the phone field searches (the form's default action records the call).
function phoneSearch() {
  const search = document.querySelector("[data-testid=search-residents]");
  const phone = document.getElementById("phone");
  if (!search || !phone) return;
  phone.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    search.click();
  });
}

buildingPicker();
unitPicker();
phoneSearch();
tick();
window.setInterval(tick, 1000);
live();
window.consoleReady = true;
