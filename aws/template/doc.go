// Package template implements AWS IoT provisioning templates as Just-in-Time
// Provisioning (JITP) uses them. It does no I/O.
//
//   - ParseRegistrationConfig validates a CA's registrationConfig
//     ({"templateBody", "roleArn", "templateName"}) against the service-model
//     limits; Parse validates a template body. Errors are *Error (or
//     *ConfigError) naming the construct and its JSON path, worded like AWS's
//     InvalidRequestException.
//   - Template.Evaluate resolves a template against the parameter dictionary
//     JITP builds from the device certificate (pki.JITPParameters:
//     AWS::IoT::Certificate::{Country, Organization, OrganizationalUnit,
//     DistinguishedNameQualifier, StateName, CommonName, SerialNumber, Id}),
//     after filling declared parameters' Defaults, and returns a Plan: the
//     thing, the certificate status and the policy to create or attach.
//   - Lint and LintConfig list problems before a device connects; Render
//     produces the AWS walkthrough's three registration configs; Pretty shows
//     a body indented, with inline policy documents decoded.
//
// Semantics and the choices made where AWS does not document them:
//
//   - Supported: Parameters (Type "String", optional Default), Mappings,
//     Resources of types AWS::IoT::Thing, AWS::IoT::Certificate and
//     AWS::IoT::Policy (one thing and one certificate at most, any number of
//     policies: "one or more", provision-template.md), OverrideSettings, and the
//     intrinsics Ref, Fn::Join, Fn::Select, Fn::Split, Fn::Sub and
//     Fn::FindInMap. AWS documents the intrinsics for fleet provisioning;
//     whether JITP evaluates more than Ref is not documented, so accepting
//     them is a superset — the wizard itself only emits Ref. Conditions,
//     Outputs, Fn::If, Fn::GetAtt and anything else are rejected.
//   - A parameter a Ref (or Fn::Sub) uses that is absent from the dictionary
//     fails with "Invalid registration template. Cannot resolve reference value:
//     {Ref=<name>}". Evaluate leaves a declared parameter nobody uses alone, as
//     RegisterThing does; EvaluateJITP also fails on it, since JITP "fails if the
//     certificate doesn't have all of the properties mentioned in the Parameters
//     section" (jit-provisioning.md). Lint reports both before a device connects.
//   - An inline PolicyDocument creates a policy named InlinePolicyName(doc),
//     the hex SHA-256 of the document text, so every device provisioned from
//     the same template shares one policy. AWS says only that the name is a
//     hash of the document.
//   - ${iot:...} policy variables inside a PolicyDocument string are not
//     template syntax and pass through unchanged (inside Fn::Sub they must be
//     written ${!iot:...}).
package template
