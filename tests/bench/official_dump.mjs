// A dump of a tenant with the official @qlik/api client, the way a backup
// script written with it does: list every collection (largest page size),
// then GET every object, 8 requests in parallel, each written to a file.
// Used by tests/bench/backup.py as the baseline; not a test.
//
//   node official_dump.mjs URL OUTDIR   (API key in $QLIK_API_KEY)
import fs from "node:fs";
import path from "node:path";
import { auth } from "@qlik/api";
import { getUsers, getUser } from "@qlik/api/users";
import { getSpaces, getSpace } from "@qlik/api/spaces";
import { getItems } from "@qlik/api/items";
import { getAppInfo } from "@qlik/api/apps";
import { getDataFiles, getDataFile } from "@qlik/api/data-files";
import { getDataStores, getDataStore, getDataStoreDataAssets,
	 getDataStoreDataAssetDataSets } from "@qlik/api/data-stores";
import { getDataAsset } from "@qlik/api/data-assets";
import { getDataSet } from "@qlik/api/data-sets";

const [url, out] = process.argv.slice(2);
auth.setDefaultHostConfig({ authType: "apikey", host: url, apiKey: process.env.QLIK_API_KEY });
const PARALLEL = 8;

async function listAll(first) {
	const all = [];
	let r = await first();
	for (;;) {
		all.push(...(r.data.data || []));
		if (!r.next)
			break;
		r = await r.next();
	}
	return all;
}

async function getAll(kind, ids, get) {
	fs.mkdirSync(path.join(out, kind), { recursive: true });
	let i = 0;
	async function worker() {
		while (i < ids.length) {
			const id = ids[i++];
			const r = await get(id);
			fs.writeFileSync(path.join(out, kind, id + ".json"), JSON.stringify(r.data, null, 2));
		}
	}
	await Promise.all(Array.from({ length: PARALLEL }, worker));
}

const opt = { noCache: true };
const users = await listAll(() => getUsers({ limit: 100 }, opt));
await getAll("users", users.map((u) => u.id), (id) => getUser(id, opt));
const spaces = await listAll(() => getSpaces({ limit: 100 }, opt));
await getAll("spaces", spaces.map((s) => s.id), (id) => getSpace(id, opt));
const apps = await listAll(() => getItems({ resourceType: "app", limit: 100 }, opt));
await getAll("apps", apps.map((a) => a.resourceId), (id) => getAppInfo(id, opt));
const files = await listAll(() => getDataFiles({ includeAllSpaces: true, limit: 1000 }, opt));
await getAll("data-files", files.map((f) => f.id), (id) => getDataFile(id, opt));
const stores = await listAll(() => getDataStores({ limit: 100 }, opt));
await getAll("data-stores", stores.map((s) => s.id), (id) => getDataStore(id, opt));
const assets = await listAll(() => getDataStoreDataAssets("*", { limit: 100 }, opt));
await getAll("data-assets", assets.map((a) => a.id), (id) => getDataAsset(id, opt));
const sets = await listAll(() => getDataStoreDataAssetDataSets("*", "*", { limit: 100 }, opt));
await getAll("data-sets", sets.map((s) => s.id), (id) => getDataSet(id, opt));
console.log(JSON.stringify({ objects: users.length + spaces.length + apps.length + files.length +
	stores.length + assets.length + sets.length }));
