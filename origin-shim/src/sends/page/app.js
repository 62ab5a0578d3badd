// The send page (docs/sends.md): picks a file (drop or input), uploads it
// with XMLHttpRequest to POST /api/v1/sends (streamed; upload.onprogress
// drives the bar), signed in by the session cookie plus the CSRF header
// the API requires with a cookie, then shows the link.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $('send');
  const input = $('file');
  const drop = $('drop');
  const progress = $('progress');
  const status = $('status');
  let file = null;

  function pick(f) {
    file = f || null;
    $('picked').textContent = file ? `${file.name} (${file.size.toLocaleString()} bytes)` : 'Drop a file here, or';
  }

  input.addEventListener('change', () => pick(input.files[0]));
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      pick(e.dataTransfer.files[0]);
    }
  });

  function fail(message) {
    status.textContent = message;
    status.className = 'error';
    $('submit').disabled = false;
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!file) return fail('Choose a file first.');
    const body = new FormData();
    body.append('max_uses', $('uses').value);
    body.append('expires_in', $('expiry').value);
    const password = $('password').value;
    if (password) {
      // A password is asked on the download page.
      body.append('password', password);
      body.append('mode', 'page');
    }
    body.append('file', file, file.name);

    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/sends');
    xhr.setRequestHeader('X-Oncelink-CSRF', '1');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) progress.value = Math.floor((ev.loaded / ev.total) * 100);
    };
    xhr.upload.onload = () => {
      progress.value = 100;
      status.textContent = 'Uploaded; the server is storing it…';
    };
    xhr.onerror = () => fail('The upload failed: the connection broke.');
    xhr.onload = () => {
      const answer = xhr.response || {};
      if (xhr.status !== 201) {
        return fail(`Not sent (${xhr.status}): ${answer.message || answer.error || 'no reason given'}`);
      }
      progress.value = 100;
      status.textContent = 'Done.';
      status.className = 'done';
      $('link').value = answer.url;
      const expires = new Date(answer.expires_at * 1000).toLocaleString();
      $('details').textContent = `${answer.max_uses} use(s), expires ${expires}` +
        (answer.metadata_stripped ? '; metadata stripped' : '');
      form.hidden = true;
      $('result').hidden = false;
    };
    $('submit').disabled = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = 'Uploading…';
    status.className = '';
    xhr.send(body);
  });

  $('copy').addEventListener('click', async () => {
    const link = $('link');
    try {
      await navigator.clipboard.writeText(link.value);
    } catch {
      link.select();
      document.execCommand('copy');
    }
    $('copy').textContent = 'Copied';
  });

  $('again').addEventListener('click', () => {
    form.reset();
    pick(null);
    progress.hidden = true;
    status.textContent = '';
    $('result').hidden = true;
    form.hidden = false;
    $('submit').disabled = false;
    $('copy').textContent = 'Copy';
  });
})();
