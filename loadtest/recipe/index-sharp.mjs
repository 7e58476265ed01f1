// The recipe's handler with its own "On-the-Fly Image Resizing" enhancement
// (../shared/seed/recipe-node-lambda-proxy.md, "Optional Enhancements"): the snippet's lines
// inserted "after fetching from S3", as the recipe says. sharp is loadtest/sharp's pinned
// 0.35.5 (one install for the load test and this). Used by loadtest/cost.py for thumbnails.
import { createRequire } from "node:module";
import { S3Client, GetObjectCommand } from "@aws-sdk/client-s3";

const sharp = createRequire(new URL("../sharp/package.json", import.meta.url))("sharp");

const s3 = new S3Client({ region: "us-east-1" });
const BUCKET = "my-images-bucket";

export const handler = async (event) => {
const key = decodeURIComponent(event.rawPath.slice(1));

try {
const command = new GetObjectCommand({ Bucket: BUCKET, Key: key });
const s3Response = await s3.send(command);

const chunks = [];
for await (const chunk of s3Response.Body) chunks.push(chunk);
const imageBuffer = Buffer.concat(chunks);

// In your handler, after fetching from S3:
const width = parseInt(event.queryStringParameters?.w || "800");
const resized = await sharp(imageBuffer).resize(width).webp().toBuffer();

return {
statusCode: 200,
headers: { "Content-Type": "image/webp", "Cache-Control": "public, max-age=31536000" },
body: resized.toString("base64"),
isBase64Encoded: true,
};
} catch (err) {
return { statusCode: 404, body: "Image not found" };
}
};
