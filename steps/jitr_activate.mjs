// jitr_activate.mjs — an AWS Lambda function (Node.js 20.x, AWS SDK for JavaScript v3) for
// AWS IoT Just-in-Time Registration, written by jitpwiz.
//
// A topic rule selects the registered event AWS IoT publishes when a device first connects
// with a certificate your CA issued:
//
//   SELECT * FROM '$aws/events/certificates/registered/<CA certificate ID>'
//
// and invokes this function with it. The function does what `jitpwiz run --mode jitr` does in
// its activate step: it checks that the certificate was issued by the CA, creates the thing
// named by the certificate's common name, creates the device policy (scoped to the thing) and
// attaches it, attaches the certificate to the thing, and sets the certificate ACTIVE. Every
// call may be repeated: what already exists is kept.
//
// Environment: CA_CERTIFICATE_ID (the registered CA's ID, required), POLICY_NAME (default
// JITRDevicePolicy). The function's role needs iot:DescribeCertificate,
// iot:DescribeCACertificate, iot:CreateThing, iot:CreatePolicy, iot:AttachPolicy,
// iot:AttachThingPrincipal and iot:UpdateCertificate.
import {
  IoTClient,
  DescribeCertificateCommand,
  DescribeCACertificateCommand,
  CreateThingCommand,
  CreatePolicyCommand,
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  UpdateCertificateCommand,
} from "@aws-sdk/client-iot";
import { X509Certificate } from "node:crypto";

const iot = new IoTClient({});

// The device policy: connect as its own thing, publish, receive and subscribe below
// <thing>/ — the scoped policy of the JITP walkthrough.
function devicePolicy(partition, region, account) {
  const arn = (kind, rest) => `arn:${partition}:iot:${region}:${account}:${kind}/${rest}`;
  const thing = "${iot:Connection.Thing.ThingName}";
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["iot:Connect"], Resource: [arn("client", thing)] },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [arn("topic", `${thing}/*`)] },
      { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [arn("topicfilter", `${thing}/*`)] },
    ],
  });
}

// commonName is the CN of an X509Certificate's subject ("C=IN\nCN=DemoThing").
function commonName(cert) {
  for (const line of cert.subject.split("\n")) {
    if (line.startsWith("CN=")) return line.slice(3);
  }
  return "";
}

// keep turns "it exists already" into success: the work was done before.
async function keep(promise) {
  try {
    return await promise;
  } catch (err) {
    if (err.name === "ResourceAlreadyExistsException") return undefined;
    throw err;
  }
}

export const handler = async (event) => {
  const caID = process.env.CA_CERTIFICATE_ID;
  const policyName = process.env.POLICY_NAME || "JITRDevicePolicy";
  if (!caID) throw new Error("set CA_CERTIFICATE_ID to the ID of your registered CA");
  const { certificateId, caCertificateId } = event;
  if (caCertificateId !== caID) {
    throw new Error(`event for CA ${caCertificateId}; this function activates certificates of CA ${caID}`);
  }

  const { certificateDescription: cert } = await iot.send(new DescribeCertificateCommand({ certificateId }));
  const { certificateDescription: ca } = await iot.send(new DescribeCACertificateCommand({ certificateId: caID }));
  const device = new X509Certificate(cert.certificatePem);
  const issuer = new X509Certificate(ca.certificatePem);
  if (cert.caCertificateId !== caID || !device.checkIssued(issuer) || !device.verify(issuer.publicKey)) {
    throw new Error(`certificate ${certificateId} was not issued by CA ${caID}: not activated`);
  }
  if (cert.status !== "PENDING_ACTIVATION" && cert.status !== "ACTIVE") {
    throw new Error(`certificate ${certificateId} is ${cert.status}: not activated`);
  }
  const thingName = commonName(device);
  if (!thingName) throw new Error(`certificate ${certificateId} has no common name to name its thing`);

  const [, partition, , region, account] = cert.certificateArn.split(":");
  await keep(iot.send(new CreateThingCommand({ thingName })));
  await keep(iot.send(new CreatePolicyCommand({ policyName, policyDocument: devicePolicy(partition, region, account) })));
  await iot.send(new AttachPolicyCommand({ policyName, target: cert.certificateArn }));
  await iot.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn }));
  // Last: the device gets in only once everything it needs is in place.
  await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: "ACTIVE" }));
  console.log(JSON.stringify({ certificateId, thingName, policyName, status: "ACTIVE" }));
  return { certificateId, thingName, policyName };
};
