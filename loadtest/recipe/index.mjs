// The classic recipe's handler, verbatim from ../shared/seed/recipe-node-lambda-proxy.md
// ("2 — Write the Lambda Proxy Function"), so that loadtest/cost.py measures the recipe itself.
// Only this comment is added. cost.py points the SDK at the local S3 stand-in through the
// environment (AWS_ENDPOINT_URL_S3, test credentials), not by editing the code.
// index.mjs (Node.js 20.x, ES Module)
import { S3Client, GetObjectCommand } from "@aws-sdk/client-s3";

const s3 = new S3Client({ region: "us-east-1" });
const BUCKET = "my-images-bucket";

export const handler = async (event) => {
// Extract image key from path e.g. /images/photo.jpg → images/photo.jpg
const key = decodeURIComponent(event.rawPath.slice(1));

try {
const command = new GetObjectCommand({ Bucket: BUCKET, Key: key });
const s3Response = await s3.send(command);

// Stream body to buffer
const chunks = [];
for await (const chunk of s3Response.Body) chunks.push(chunk);
const imageBuffer = Buffer.concat(chunks);

return {
statusCode: 200,
headers: {
"Content-Type": s3Response.ContentType || "image/jpeg",
"Cache-Control": "public, max-age=31536000", // 1 year cache
},
body: imageBuffer.toString("base64"),
isBase64Encoded: true,
};
} catch (err) {
return { statusCode: 404, body: "Image not found" };
}
};
