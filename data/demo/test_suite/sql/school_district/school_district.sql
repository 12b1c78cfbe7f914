PRAGMA foreign_keys = ON;
BEGIN TRANSACTION;
CREATE TABLE "School" (
  "School_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "District" TEXT,
  "Founded" INTEGER,
  "Enrollment" INTEGER
);
CREATE TABLE "Teacher" (
  "Teacher_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "School_ID" INTEGER,
  "Subject" TEXT,
  "Hire_Year" INTEGER,
  "Salary" REAL,
  FOREIGN KEY ("School_ID") REFERENCES "School"("School_ID")
);
CREATE TABLE "Student" (
  "Student_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Grade" INTEGER,
  "School_ID" INTEGER,
  "GPA" REAL,
  FOREIGN KEY ("School_ID") REFERENCES "School"("School_ID")
);
CREATE TABLE "Course" (
  "Course_ID" INTEGER PRIMARY KEY,
  "Title" TEXT,
  "Teacher_ID" INTEGER,
  "Credits" INTEGER,
  FOREIGN KEY ("Teacher_ID") REFERENCES "Teacher"("Teacher_ID")
);
CREATE TABLE "Course_Enrollment" (
  "Enrollment_ID" INTEGER PRIMARY KEY,
  "Student_ID" INTEGER,
  "Course_ID" INTEGER,
  "Score" INTEGER,
  FOREIGN KEY ("Student_ID") REFERENCES "Student"("Student_ID"),
  FOREIGN KEY ("Course_ID") REFERENCES "Course"("Course_ID")
);
INSERT INTO "School" VALUES (1, 'Hillcrest High', 'North', 1957, 1240);
INSERT INTO "School" VALUES (2, 'Riverbend Academy', 'North', 1994, 680);
INSERT INTO "School" VALUES (3, 'Oakridge Secondary', 'East', 1968, 950);
INSERT INTO "School" VALUES (4, 'Lakeshore High', 'West', 1972, 1510);
INSERT INTO "School" VALUES (5, 'Pine Valley School', 'East', 2003, 420);
INSERT INTO "School" VALUES (6, 'Summit Preparatory', 'South', 1921, 560);
INSERT INTO "School" VALUES (7, 'Meadowbrook High', 'West', 1985, 1105);
INSERT INTO "School" VALUES (8, 'Granite Falls Academy', 'South', 2015, 310);
INSERT INTO "Teacher" VALUES (1, 'Rebecca Lowell', 1, 'Mathematics', 2008, 64000.0);
INSERT INTO "Teacher" VALUES (2, 'Daniel Park', 1, 'Physics', 2015, 58500.0);
INSERT INTO "Teacher" VALUES (3, 'Fatima Zahra', 2, 'Chemistry', 2011, 61000.0);
INSERT INTO "Teacher" VALUES (4, 'Gregory Hines', 3, 'History', 1999, 72000.0);
INSERT INTO "Teacher" VALUES (5, 'Sophie Laurent', 3, 'French', 2018, 52000.0);
INSERT INTO "Teacher" VALUES (6, 'Carlos Vega', 4, 'Mathematics', 2005, 67500.0);
INSERT INTO "Teacher" VALUES (7, 'Ellen Marsh', 4, 'English', 2012, 59000.0);
INSERT INTO "Teacher" VALUES (8, 'Tunde Bakare', 5, 'Biology', 2020, 49500.0);
INSERT INTO "Teacher" VALUES (9, 'Ingrid Holm', 6, 'Music', 2001, 63000.0);
INSERT INTO "Teacher" VALUES (10, 'Paul Whitaker', 7, 'Physics', 2009, 62500.0);
INSERT INTO "Teacher" VALUES (11, 'Leila Nasser', 7, 'English', 2016, 55000.0);
INSERT INTO "Teacher" VALUES (12, 'Ryan O''Connell', 8, 'Computer Science', 2021, 57000.0);
INSERT INTO "Teacher" VALUES (13, 'Martha Quill', 2, 'Mathematics', 1996, NULL);
INSERT INTO "Teacher" VALUES (14, 'Hugo Brandt', 6, 'History', 2013, 60500.0);
INSERT INTO "Teacher" VALUES (15, 'Yara Costa', 1, 'Art', 2019, 50500.0);
INSERT INTO "Student" VALUES (1, 'Aiden Cole', 9, 1, 3.4);
INSERT INTO "Student" VALUES (2, 'Bella Nguyen', 10, 1, 3.9);
INSERT INTO "Student" VALUES (3, 'Caleb Ford', 11, 2, 2.8);
INSERT INTO "Student" VALUES (4, 'Daisy Moreno', 12, 3, 3.6);
INSERT INTO "Student" VALUES (5, 'Ethan Shaw', 9, 4, 3.1);
INSERT INTO "Student" VALUES (6, 'Fiona Grant', 10, 4, 3.8);
INSERT INTO "Student" VALUES (7, 'Gavin Li', 11, 5, 2.5);
INSERT INTO "Student" VALUES (8, 'Holly Baker', 12, 6, 3.95);
INSERT INTO "Student" VALUES (9, 'Ian Murphy', 9, 7, 3.0);
INSERT INTO "Student" VALUES (10, 'Jade Wilson', 10, 7, 3.7);
INSERT INTO "Student" VALUES (11, 'Kyle Burke', 11, 8, 2.9);
INSERT INTO "Student" VALUES (12, 'Lena Sommer', 12, 1, 3.5);
INSERT INTO "Student" VALUES (13, 'Mason Reid', 9, 3, 2.7);
INSERT INTO "Student" VALUES (14, 'Nora Ellis', 10, 2, 3.3);
INSERT INTO "Student" VALUES (15, 'Owen Patel', 11, 4, 3.0);
INSERT INTO "Student" VALUES (16, 'Piper Hale', 12, 5, 3.85);
INSERT INTO "Student" VALUES (17, 'Quinn Harper', 9, 6, NULL);
INSERT INTO "Student" VALUES (18, 'Rosa Diaz', 10, 7, 3.2);
INSERT INTO "Student" VALUES (19, 'Sam Turner', 11, 3, 2.6);
INSERT INTO "Student" VALUES (20, 'Tara Singh', 12, 4, 3.75);
INSERT INTO "Student" VALUES (21, 'Umar Aziz', 9, 8, 3.1);
INSERT INTO "Student" VALUES (22, 'Vera Klein', 10, 1, 3.9);
INSERT INTO "Student" VALUES (23, 'Will Foster', 11, 2, 2.4);
INSERT INTO "Student" VALUES (24, 'Xena Brooks', 12, 6, 3.45);
INSERT INTO "Student" VALUES (25, 'Yusuf Ali', 9, 7, 3.05);
INSERT INTO "Course" VALUES (1, 'Algebra II', 1, 4);
INSERT INTO "Course" VALUES (2, 'Mechanics', 2, 3);
INSERT INTO "Course" VALUES (3, 'Organic Chemistry', 3, 4);
INSERT INTO "Course" VALUES (4, 'World History', 4, 3);
INSERT INTO "Course" VALUES (5, 'Conversational French', 5, 2);
INSERT INTO "Course" VALUES (6, 'Calculus', 6, 5);
INSERT INTO "Course" VALUES (7, 'Creative Writing', 7, 3);
INSERT INTO "Course" VALUES (8, 'Marine Biology', 8, 4);
INSERT INTO "Course" VALUES (9, 'Choir', 9, 1);
INSERT INTO "Course" VALUES (10, 'Electricity and Magnetism', 10, 4);
INSERT INTO "Course" VALUES (11, 'Intro to Programming', 12, 3);
INSERT INTO "Course" VALUES (12, 'Statistics', 13, 3);
INSERT INTO "Course_Enrollment" VALUES (1, 3, 5, 79);
INSERT INTO "Course_Enrollment" VALUES (2, 8, 8, 70);
INSERT INTO "Course_Enrollment" VALUES (3, 9, 9, 58);
INSERT INTO "Course_Enrollment" VALUES (4, 16, 3, 81);
INSERT INTO "Course_Enrollment" VALUES (5, 17, 3, NULL);
INSERT INTO "Course_Enrollment" VALUES (6, 3, 6, 98);
INSERT INTO "Course_Enrollment" VALUES (7, 6, 7, 98);
INSERT INTO "Course_Enrollment" VALUES (8, 15, 11, 84);
INSERT INTO "Course_Enrollment" VALUES (9, 1, 9, 59);
INSERT INTO "Course_Enrollment" VALUES (10, 13, 3, 75);
INSERT INTO "Course_Enrollment" VALUES (11, 1, 1, 97);
INSERT INTO "Course_Enrollment" VALUES (12, 7, 8, 91);
INSERT INTO "Course_Enrollment" VALUES (13, 7, 11, 72);
INSERT INTO "Course_Enrollment" VALUES (14, 20, 8, 71);
INSERT INTO "Course_Enrollment" VALUES (15, 7, 5, 56);
INSERT INTO "Course_Enrollment" VALUES (16, 7, 6, 94);
INSERT INTO "Course_Enrollment" VALUES (17, 12, 7, 56);
INSERT INTO "Course_Enrollment" VALUES (18, 10, 2, 77);
INSERT INTO "Course_Enrollment" VALUES (19, 9, 1, 91);
INSERT INTO "Course_Enrollment" VALUES (20, 4, 6, NULL);
INSERT INTO "Course_Enrollment" VALUES (21, 16, 10, 78);
INSERT INTO "Course_Enrollment" VALUES (22, 2, 11, 77);
INSERT INTO "Course_Enrollment" VALUES (23, 18, 2, 99);
INSERT INTO "Course_Enrollment" VALUES (24, 20, 7, 72);
INSERT INTO "Course_Enrollment" VALUES (25, 16, 6, 75);
INSERT INTO "Course_Enrollment" VALUES (26, 7, 3, 52);
INSERT INTO "Course_Enrollment" VALUES (27, 11, 5, 52);
INSERT INTO "Course_Enrollment" VALUES (28, 10, 8, 72);
INSERT INTO "Course_Enrollment" VALUES (29, 19, 8, 73);
INSERT INTO "Course_Enrollment" VALUES (30, 2, 10, 85);
COMMIT;
